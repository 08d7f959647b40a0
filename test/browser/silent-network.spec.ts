import type { BrowserContext, Locator, Page } from 'playwright-core';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js';
import { buildWebComponents, customerSends, expectAttribute, launchBrowser, openPage, requireChromium, startChat, TestApp, waitUntil } from './harness.js';

/**
 * The widget on a route that goes silent without closing (a NAT or a mobile network that forgot
 * the connection): only the missing heart-beats tell the browser that the connection is gone.
 */
describe('the widget when its network goes silent', () => {
  let app: TestApp;
  let proxy: TcpProxy;
  let browser: { context: BrowserContext; close: () => Promise<void> };
  let customer: Page;
  let widget: Locator;

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    app = await TestApp.start();
    proxy = await startTcpProxy(app.port);
    browser = await launchBrowser();
    ({ page: customer } = await openPage(browser.context, `http://127.0.0.1:${proxy.port}/`));
    widget = customer.locator('chat-widget');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await app?.close();
  });

  // Heart-beats go every 10 s both ways; stompjs gives up on a server silent for 20 s, checked
  // every 10 s: within 30 s the widget knows. Closing that socket politely waits for the server's
  // answer, which never comes: Chromium waits 60 s more, and the widget, online all that time,
  // shows the message as sending.
  it('sends what was written once the heart-beats stop, on a new connection, not a minute later', async () => {
    await startChat(customer, 'Silent network');
    await customerSends(customer, 'Written before');
    await expectAttribute(widget.locator('li.own', { hasText: 'Written before' }), 'data-delivery', 'stored');

    proxy.freeze();
    await customerSends(customer, 'Written after the network went silent');

    const line = widget.locator('li.own', { hasText: 'Written after the network went silent' });
    await waitUntil(
      async () => (await line.getAttribute('data-delivery')) === 'stored',
      async () => `45 s after the network went silent the message is ${await line.getAttribute('data-delivery')}, and the widget shows ${
        (await widget.locator('.status').count()) === 0 ? 'no connection notice' : JSON.stringify(await widget.locator('.status').first().textContent())}`,
      45_000,
    );
  }, 90_000);
});
