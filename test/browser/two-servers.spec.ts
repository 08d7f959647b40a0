import { randomUUID } from 'node:crypto';
import { createServer, request as forward, type Server } from 'node:http';
import { connect } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import {
  bubbles, buildWebComponents, customerSends, expectAttribute, expectText, launchBrowser, openPage, requireChromium, startChat, TestApp,
  waitUntil,
} from './harness.js';

/**
 * One origin, as behind a proxy, serving two Parley servers under paths of their own (`/a/` and
 * `/b/`, the proxy strips them), and at `/?server=a` a host page whose widget uses one of them.
 */
async function startPathProxy(apps: Readonly<Record<string, TestApp>>): Promise<{ url: string; close: () => Promise<void> }> {
  const target = (url = '/') => {
    const [, name, path] = /^\/([^/?]+)(\/.*)?$/.exec(url) ?? [];
    const app = name === undefined ? undefined : apps[name];
    return app && { port: app.port, path: path ?? '/' };
  };
  const server: Server = createServer((request, response) => {
    const upstream = target(request.url);
    if (!upstream) {
      const query = new URL(request.url ?? '/', 'http://host').searchParams;
      const [name, element] = [query.get('server'), query.get('element') ?? 'chat-widget'];
      response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
        <html lang="en"><title>Parley under /${name}/</title>
        <script type="module" src="/${name}/widget.js"></script>
        <${element} server="http://${request.headers.host}/${name}" open></${element}></html>`);
      return;
    }
    const proxied = forward({ host: '127.0.0.1', port: upstream.port, path: upstream.path, method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    proxied.on('error', () => response.destroy());
    request.pipe(proxied);
  });
  server.on('upgrade', (request, socket, head) => {
    const upstream = target(request.url);
    if (!upstream) return void socket.destroy();
    const peer = connect(upstream.port, '127.0.0.1', () => {
      const headers = request.rawHeaders.map((value, i) => (i % 2 === 0 ? `${value}: ` : `${value}\r\n`)).join('');
      peer.write(`${request.method} ${upstream.path} HTTP/1.1\r\n${headers}\r\n`);
      peer.write(head);
      socket.pipe(peer).pipe(socket);
    });
    for (const [one, other] of [[socket, peer], [peer, socket]] as const) {
      one.on('error', () => other.destroy());
      one.on('close', () => other.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A customer of two Parley servers behind one origin, in two tabs of one browser; an agent of both. */
describe('the components of two servers under paths of one origin', () => {
  let apps: { a: TestApp; b: TestApp };
  let proxy: { url: string; close: () => Promise<void> };
  let browser: { context: BrowserContext; close: () => Promise<void> };

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    const [a, b] = await Promise.all([TestApp.start(), TestApp.start()]);
    apps = { a, b };
    proxy = await startPathProxy(apps);
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all([apps?.a.close(), apps?.b.close()]);
  });

  /** The host page of the widget of server `name`, signed in as the customer. */
  async function widgetOf(name: 'a' | 'b'): Promise<Page> {
    const { page } = await openPage(browser.context, `${proxy.url}/?server=${name}`);
    await signIn(page, name);
    return page;
  }

  async function signIn(page: Page, name: 'a' | 'b'): Promise<void> {
    const token = await apps[name].token('customer-of-both', 'customer');
    await page.locator('chat-widget').evaluate((element, value) => ((element as HTMLElement & { token: string }).token = value), token);
  }

  it("keeps each server's chat: one started with the other server, in another tab, neither replaces it nor is replaced by it", async () => {
    const first = await widgetOf('a');
    await startChat(first, 'Asked of A');
    await customerSends(first, 'Hello A');
    await expectAttribute(first.locator('chat-widget li.own', { hasText: 'Hello A' }), 'data-delivery', 'stored');
    // What the other tab saves reaches this one as `storage` events, to the widget's listener first.
    await first.evaluate(() => {
      const saved: string[] = [];
      Object.assign(window, { saved });
      window.addEventListener('storage', (event) => saved.push(event.newValue ?? ''));
    });

    const second = await widgetOf('b');
    await expectText(second.locator('chat-widget label[for="subject"]'), 'What can we help you with?'); // nothing of A's chat
    await startChat(second, 'Asked of B');
    await customerSends(second, 'Hello B');
    await expectAttribute(second.locator('chat-widget li.own', { hasText: 'Hello B' }), 'data-delivery', 'stored');

    await waitUntil(() => first.evaluate(() => (window as unknown as { saved: string[] }).saved.some((value) => value.includes('Hello B'))));
    await first.locator('chat-widget').evaluate(async (element) => void (await (element as unknown as { updateComplete: Promise<boolean> }).updateComplete));
    await expectText(first.locator('chat-widget .header .subject'), 'Asked of A');
    expect(await bubbles(first.locator('chat-widget'))).toEqual(['Hello A']);

    // Loaded again, each tab finds its server's chat where it saved it.
    for (const [page, name, subject, line] of [[first, 'a', 'Asked of A', 'Hello A'], [second, 'b', 'Asked of B', 'Hello B']] as const) {
      await page.reload();
      await signIn(page, name);
      await expectText(page.locator('chat-widget .header .subject'), subject);
      await waitUntil(async () => (await bubbles(page.locator('chat-widget'))).join('|') === line, async () => JSON.stringify(await bubbles(page.locator('chat-widget'))));
    }
  }, 90_000);

  it("moves the agent console to the server its server attribute is changed to, for the same agent: that server's chats", async () => {
    for (const name of ['a', 'b'] as const) {
      const customer = await StompTestClient.connect(`${apps[name].url.replace(/^http/, 'ws')}/stomp`, await apps[name].token(`customer-of-${name}`, 'customer'));
      expect(await customer.send('/app/chat/open', { sessionId: randomUUID(), subject: `Waiting at ${name.toUpperCase()}` })).toEqual({ ok: true });
      await customer.disconnect();
    }
    const { page } = await openPage(browser.context, `${proxy.url}/?server=a&element=agent-console`);
    const console = page.locator('agent-console');
    const tokens = { a: await apps.a.token('agent-of-both', 'agent'), b: await apps.b.token('agent-of-both', 'agent') };
    await console.evaluate((element, token) => ((element as HTMLElement & { token: string }).token = token), tokens.a);
    await console.locator('.item', { hasText: 'Waiting at A' }).waitFor();

    await console.evaluate((element, token) => {
      element.setAttribute('server', element.getAttribute('server')!.replace(/\/a$/, '/b'));
      (element as HTMLElement & { token: string }).token = token;
    }, tokens.b);
    await console.locator('.item', { hasText: 'Waiting at B' }).waitFor();
    expect(await console.locator('.item', { hasText: 'Waiting at A' }).count()).toBe(0);
    await page.close();
  }, 60_000);
});
