import type { BrowserContext, Locator, Page } from 'playwright-core';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js';
import {
  buildWebComponents, customerSends, expectAttribute, expectText, launchBrowser, openPage, requireChromium, signedIn, startChat, TestApp, waitUntil,
} from './harness.js';

/**
 * The widget on a route that goes silent without closing (a NAT or a mobile network that forgot
 * the connection): only the missing heart-beats tell the browser that the connection is gone. And
 * on a route that fails plainly, after a long time online.
 */
describe('the widget when its network fails', () => {
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
    // The pages' clock, for the first test to skip the heart-beats' wait (it flows as the real one otherwise).
    await browser.context.clock.install();
    ({ page: customer } = await openPage(browser.context, `http://127.0.0.1:${proxy.port}/`));
    widget = customer.locator('chat-widget');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await app?.close();
  });

  // Heart-beats go every 10 s both ways; stompjs gives up on a server silent for 20 s, checked
  // every 10 s: within 30 s the widget knows. The test moves the page's clock those 30 s on at
  // once; Chromium's own, which the clock does not move, times the rest. Closing that socket
  // politely waits for the server's answer, which never comes: Chromium waits 60 s more, and the
  // widget, online all that time, shows the message as sending.
  it('sends what was written once the heart-beats stop, on a new connection, not a minute later', async () => {
    await startChat(customer, 'Silent network');
    await customerSends(customer, 'Written before');
    await expectAttribute(widget.locator('li.own', { hasText: 'Written before' }), 'data-delivery', 'stored');

    proxy.freeze();
    await customerSends(customer, 'Written after the network went silent');
    await customer.clock.fastForward(30_000);

    const line = widget.locator('li.own', { hasText: 'Written after the network went silent' });
    await waitUntil(
      async () => (await line.getAttribute('data-delivery')) === 'stored',
      async () => `45 s after the heart-beats' 30 s the message is ${await line.getAttribute('data-delivery')}, and the widget shows ${
        (await widget.locator('.status').count()) === 0 ? 'no connection notice' : JSON.stringify(await widget.locator('.status').first().textContent())}`,
      45_000,
    );
  }, 90_000);

  it('counts down to its next attempt from the moment it lost the connection, not from the last time it was offline', async () => {
    await signedIn(customer, 'chat-widget');
    if ((await widget.getAttribute('open')) === null) await widget.locator('.launcher').click();
    await waitUntil(async () => (await widget.locator('.status').count()) === 0); // online
    // Every countdown the widget shows, however briefly; and ten minutes online, as the page's clock has it.
    await customer.evaluate(() => {
      const shown: string[] = ((window as unknown as { countdowns: string[] }).countdowns = []);
      const root = document.querySelector('chat-widget')!.shadowRoot!;
      new MutationObserver(() => {
        const text = root.querySelector('.status [aria-hidden="true"]')?.textContent;
        if (text && shown.at(-1) !== text) shown.push(text);
      }).observe(root, { subtree: true, childList: true, characterData: true });
      const now = Date.now.bind(Date);
      Date.now = () => now() + 10 * 60_000;
    });

    await proxy.cut();
    await expectText(widget.locator('.status'), 'Can’t reach the chat server.', { startsWith: true });
    const countdowns = await customer.evaluate(() => (window as unknown as { countdowns: string[] }).countdowns);
    // The back-off waits 10 s at most.
    expect(countdowns.filter((text) => Number(/\d+/.exec(text)?.[0]) > 10)).toEqual([]);
  });
});
