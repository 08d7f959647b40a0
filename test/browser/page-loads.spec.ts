import { randomUUID } from 'node:crypto';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import { startTcpProxy } from '../tcp-proxy.js';
import {
  bubbles, buildWebComponents, customerSends, expectAttribute, expectText, launchBrowser, openPage, requireChromium, signedIn, startChat,
  TestApp, waitUntil,
} from './harness.js';

/** Keeps, in the page, the detail of each of `names` the widget fires from then on (as `window.told`). */
function recordTold(names: string[]): void {
  const told: Record<string, unknown[]> = {};
  Object.assign(window, { told });
  for (const name of names) {
    told[name] = [];
    document.addEventListener(name, (event) => told[name]!.push((event as CustomEvent).detail));
  }
}

function told(page: Page): Promise<Record<string, unknown[]>> {
  return page.evaluate(() => (window as unknown as { told: Record<string, unknown[]> }).told);
}

/** The id of the chat the widget saved in the page's storage. */
async function savedSessionId(page: Page): Promise<string> {
  const saved = await page.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('parley-chat:'))?.[1]);
  return (JSON.parse(saved ?? '{}') as { sessionId: string }).sessionId;
}

/** An agent, Ada, takes the chat and writes `body`; with `close`, then closes it. */
async function agentAnswers(app: TestApp, sessionId: string, body: string, close = false): Promise<void> {
  const agent = await StompTestClient.connect(`${app.url.replace(/^http/, 'ws')}/stomp`, await app.token(`agent-${randomUUID()}`, 'agent', 'Ada'));
  try {
    expect(await agent.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
    expect(await agent.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body })).toEqual({ ok: true });
    if (close) expect(await agent.send(`/app/chat/${sessionId}/close`, {})).toEqual({ ok: true });
  } finally {
    await agent.disconnect();
  }
}

/** The customer starts a chat about `subject`, writes `body`, ends the chat and rates it 5. */
async function chatAndRate(page: Page, subject: string, body: string): Promise<void> {
  const widget = page.locator('chat-widget');
  await startChat(page, subject);
  await customerSends(page, body);
  await widget.getByRole('button', { name: 'End chat' }).click();
  await widget.locator('label[for="star-5"]').click();
  await widget.getByRole('button', { name: 'Send rating' }).click();
  await expectText(widget.locator('.done p'), 'Thank you for your feedback!');
}

/**
 * Opens chats on the phone, newer than any before: `closed` closed one by one (each projected closed
 * before the next opening: a customer may have three chats open at once), then `open` left open.
 */
async function chatsOnThePhone(app: TestApp, phone: StompTestClient, token: string, { closed, open }: { closed: number; open: number }): Promise<void> {
  const statusOf = async (sessionId: string) =>
    ((await (await fetch(`${app.url}/api/sessions/${sessionId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status?: string }).status;
  for (let i = 0; i < closed + open; i++) {
    const sessionId = randomUUID();
    expect(await phone.send('/app/chat/open', { sessionId, subject: `From my phone ${i}` })).toEqual({ ok: true });
    if (i >= closed) continue;
    expect(await phone.send(`/app/chat/${sessionId}/close`, {})).toEqual({ ok: true });
    await waitUntil(async () => (await statusOf(sessionId)) === 'closed');
  }
}

/**
 * Runs `work` on the customer's phone: a STOMP client of the user the page signed in, with its
 * token; then the page is loaded again and its widget opened, as when the customer comes back.
 */
async function fromThePhone(app: TestApp, page: Page, work: (phone: StompTestClient, token: string) => Promise<void>): Promise<void> {
  const { sub, name } = JSON.parse((await page.evaluate(() => localStorage.getItem('parley-demo:customer'))) ?? '{}') as { sub: string; name: string };
  const token = await app.token(sub, 'customer', name);
  const phone = await StompTestClient.connect(`${app.url.replace(/^http/, 'ws')}/stomp`, token);
  try {
    await work(phone, token);
  } finally {
    await phone.disconnect();
  }
  await page.reload();
  await signedIn(page, 'chat-widget');
  await page.locator('chat-widget .launcher').click();
}

/** The widget across later page loads: what it tells its host page again, and what it must not. */
describe('the widget at a later page load', () => {
  let app: TestApp;
  let browser: { context: BrowserContext; close: () => Promise<void> };

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    app = await TestApp.start();
  }, 120_000);

  // A browser, and so a customer, of each test's own: a chat one test leaves saved is not the next one's.
  beforeEach(async () => {
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await browser?.close();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('tells the host page of a chat closed and rated once, not again at every later page load', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await chatAndRate(page, 'Rated once', 'Thanks for the help.');

    // The customer goes on to another page of the site.
    await page.addInitScript(recordTold, ['chat-session-closed', 'chat-session-rated']);
    await page.reload();
    await signedIn(page, 'chat-widget');
    await widget.locator('.launcher').click();
    await expectText(widget.locator('.done p'), 'Thank you for your feedback!');
    expect(await told(page)).toEqual({ 'chat-session-closed': [], 'chat-session-rated': [] });
    await page.close();
  });

  it('keeps the open chat this browser saved, though the customer has since had five chats more on another device', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Open here');
    await customerSends(page, 'Still waiting for the key.');

    // Meanwhile, on their phone: four chats opened and closed, and one open still, all newer.
    await fromThePhone(app, page, async (phone, token) => {
      await chatsOnThePhone(app, phone, token, { closed: 4, open: 1 });
    });
    await expectText(widget.locator('.header .subject'), 'Open here');
    await expectText(widget.locator('li.own .bubble').last(), 'Still waiting for the key.');
    await page.close();
  });

  it('finds the open chat on the server (nothing saved in this browser), though five newer chats have been closed since', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Open for days');
    await customerSends(page, 'The car smells of smoke.');

    // On their phone, five chats opened and closed since; then back on the site, in another browser.
    await fromThePhone(app, page, async (phone, token) => {
      await chatsOnThePhone(app, phone, token, { closed: 5, open: 0 });
      await page.evaluate(() => {
        for (const key of Object.keys(localStorage)) if (key.startsWith('parley-chat:')) localStorage.removeItem(key);
      });
    });
    await expectText(widget.locator('.header .subject'), 'Open for days');
    await expectText(widget.locator('li.own .bubble').last(), 'The car smells of smoke.');
    await page.close();
  });

  it('shows the chat the customer opened on another device, not the closed one this browser saved before', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await chatAndRate(page, 'Last week', 'Thanks, all sorted.');

    // Days later the customer writes from their phone, then comes back to the site on this browser.
    await fromThePhone(app, page, async (phone) => {
      const sessionId = randomUUID();
      expect(await phone.send('/app/chat/open', { sessionId, subject: 'From my phone' })).toEqual({ ok: true });
      expect(await phone.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'My flight is late.' })).toEqual({ ok: true });
    });
    await expectText(widget.locator('.header .subject'), 'From my phone');
    await waitUntil(async () => (await bubbles(widget)).join('|') === 'My flight is late.', async () => JSON.stringify(await bubbles(widget)));
    await page.close();
  });

  it('does not ask again at the next page load for the rating the customer skipped', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Skipped rating');
    await customerSends(page, 'Got it, thanks.');
    await widget.getByRole('button', { name: 'End chat' }).click();
    await widget.getByRole('button', { name: 'Skip' }).click();
    await expectText(widget.locator('.done p'), 'Thank you for chatting with us.');

    // The customer goes on to another page of the site.
    await page.reload();
    await signedIn(page, 'chat-widget');
    await widget.locator('.launcher').click();
    await waitUntil(async () => (await widget.locator('.done p, legend').count()) > 0);
    expect(await widget.locator('legend').count()).toBe(0);
    await expectText(widget.locator('.done p'), 'Thank you for chatting with us.');
    await page.close();
  });

  it('resuming an open chat found on the server (nothing saved in this browser), neither tells nor announces its old messages as new', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Resumed elsewhere');
    await customerSends(page, 'Is my car ready?');
    const sessionId = await savedSessionId(page);
    await agentAnswers(app, sessionId, 'Yes, it is ready.');
    await widget.locator('li.other', { hasText: 'Yes, it is ready.' }).waitFor();

    // The same customer on another device: the chat's page loads with nothing of it stored.
    await page.evaluate(() => {
      for (const key of Object.keys(localStorage)) if (key.startsWith('parley-chat:')) localStorage.removeItem(key);
    });
    await page.addInitScript(recordTold, ['chat-message-received']);
    await page.reload();
    await signedIn(page, 'chat-widget');
    await widget.locator('.launcher').click();
    await waitUntil(async () => (await bubbles(widget)).join('|') === 'Is my car ready?|Yes, it is ready.', async () => JSON.stringify(await bubbles(widget)));
    await expectText(widget.locator('li.system').last(), 'Ada joined the chat.');
    expect(await told(page)).toEqual({ 'chat-message-received': [] });
    await page.close();
  });

  it('finds the open chat on the server (nothing saved in this browser) once it can, when the first look failed', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Looked for again');
    await customerSends(page, 'Is my car ready?');
    await page.evaluate(() => {
      for (const key of Object.keys(localStorage)) if (key.startsWith('parley-chat:')) localStorage.removeItem(key);
    });

    // The same customer on another device, on a network that fails the widget's first request.
    let failed = 0;
    await page.route(/\/api\/sessions\?/, (route) => (failed++ === 0 ? route.abort('internetdisconnected') : route.continue()));
    await page.reload();
    await signedIn(page, 'chat-widget');
    await widget.locator('.launcher').click();
    await waitUntil(async () => failed > 0);
    await waitUntil(async () => (await bubbles(widget)).join('|') === 'Is my car ready?', async () => `the widget shows ${
      (await widget.locator('#subject').count()) > 0 ? 'the form to start a chat' : JSON.stringify(await bubbles(widget))}, after ${failed} request(s) for the chats`, 15_000);
    await page.close();
  });

  it("keeps the chat of one tab saved when another tab of the same customer, opened before it, reconnects", async () => {
    // Two tabs of the site; the customer starts a chat in the second one opened.
    const { page: idle } = await openPage(browser.context, `${app.url}/`);
    await signedIn(idle, 'chat-widget');
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Two tabs');
    await customerSends(page, 'Where do I return the car?');
    const sessionId = await savedSessionId(page);
    await agentAnswers(app, sessionId, 'At the airport desk.', true);
    await expectText(widget.locator('legend'), 'How was your chat?');

    // The idle tab gets a fresh token (its host page renews it), and connects again with it.
    const { sub, name } = JSON.parse((await page.evaluate(() => localStorage.getItem('parley-demo:customer'))) ?? '{}') as { sub: string; name: string };
    const fresh = await app.token(sub, 'customer', name);
    await idle.locator('chat-widget').evaluate((element, token) => ((element as HTMLElement & { token: string }).token = token), fresh);
    await waitUntil(async () => (await idle.locator('chat-widget').evaluate((element) => (element as HTMLElement & { token: string }).token)) === fresh);

    // The customer goes on to another page of the site in the chat's tab: the chat waits for its rating.
    await page.reload();
    await signedIn(page, 'chat-widget');
    await widget.locator('.launcher').click();
    await waitUntil(async () => (await bubbles(widget)).length > 0 || (await widget.locator('#subject').count()) > 0);
    expect(await widget.locator('#subject').count()).toBe(0);
    await expectText(widget.locator('legend'), 'How was your chat?');
    await idle.close();
    await page.close();
  });

  it('shows the chat started in one tab in the other tabs of the same customer, and what the agent writes there too', async () => {
    const { page: other } = await openPage(browser.context, `${app.url}/`);
    await signedIn(other, 'chat-widget');
    const { page } = await openPage(browser.context, `${app.url}/`);
    await startChat(page, 'Seen in both tabs');
    await customerSends(page, 'Can I add a child seat?');
    const sessionId = await savedSessionId(page);
    const otherWidget = other.locator('chat-widget');
    await otherWidget.locator('.launcher').click();
    await waitUntil(async () => (await bubbles(otherWidget)).join('|') === 'Can I add a child seat?', async () => JSON.stringify(await bubbles(otherWidget)));
    await agentAnswers(app, sessionId, 'Yes, one is booked.');
    await otherWidget.locator('li.other', { hasText: 'Yes, one is booked.' }).waitFor();
    expect(await otherWidget.locator('#subject').count()).toBe(0);
    await other.close();
    await page.close();
  });

  it.each([
    ['after it was closed', false],
    ['before it was closed (its opening goes first)', true],
  ])('opens the chat started offline in a tab since closed, and sends the message written for it in another tab %s', async (_when, writtenBefore) => {
    // Both tabs, and so their connections, through a proxy that stands for the customer's network.
    const proxy = await startTcpProxy(app.port);
    try {
      const { first, page, widget } = await twoTabs(`http://127.0.0.1:${proxy.port}/`);
      await proxy.cut();
      await expectText(widget.locator('.status'), 'Can’t reach the chat server.', { startsWith: true });
      await startChat(first, 'Started on the train'); // queued in the first tab's outbox
      await widget.locator('.composer textarea').waitFor(); // the other tab shows the chat
      if (!writtenBefore) await first.close(); // its outbox saved, with the opening
      await customerSends(page, 'Written in the other tab');
      const line = widget.locator('li.own', { hasText: 'Written in the other tab' });
      await expectAttribute(line, 'data-delivery', 'queued');
      if (writtenBefore) await first.close();

      await proxy.restore();
      await waitUntil(async () => ['stored', 'read', 'failed'].includes((await line.getAttribute('data-delivery')) ?? ''), undefined, 15_000);
      expect({ delivery: await line.getAttribute('data-delivery'), reasons: await line.locator('.reason').allTextContents() }).toEqual({ delivery: 'stored', reasons: [] });
      await expectText(widget.locator('li.system').first(), 'Chat started: Started on the train');
      await page.close();
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('sends the message written offline in a tab since closed once the network is back, while another tab of the chat is open', async () => {
    const proxy = await startTcpProxy(app.port);
    try {
      const { first, page, widget } = await twoTabs(`http://127.0.0.1:${proxy.port}/`);
      await startChat(first, 'Two tabs, one closed');
      await widget.locator('.composer textarea').waitFor(); // the other tab shows the chat
      const sessionId = await savedSessionId(page);

      await proxy.cut();
      await expectText(first.locator('chat-widget .status'), 'Can’t reach the chat server.', { startsWith: true });
      await customerSends(first, 'Written in the tab then closed');
      await expectAttribute(first.locator('chat-widget li.own', { hasText: 'Written in the tab then closed' }), 'data-delivery', 'queued');
      await first.close(); // its outbox saved, with the message
      await proxy.restore();

      const agent = await app.token('agent-check', 'agent');
      await waitUntil(async () => {
        const messages = await app.get<{ items: { content: string }[] }>(`/api/sessions/${sessionId}/messages`, agent);
        return messages.items.some((message) => message.content === 'Written in the tab then closed');
      }, async () => `the server has not got the message; the open tab shows ${JSON.stringify(await bubbles(widget))}, and the outbox saved holds ${
        JSON.stringify(await page.evaluate(() => Object.entries(localStorage).filter(([key]) => key.startsWith('parley-chat:')).map(([, saved]) => JSON.parse(saved).outbox.map((entry: { body: { body?: string } }) => entry.body.body))))}`, 15_000);
      await page.close();
    } finally {
      await proxy.close();
    }
  }, 60_000);

  /** Two tabs of the site at `url`, one customer signed in to both; the second's panel open. */
  async function twoTabs(url: string): Promise<{ first: Page; page: Page; widget: Locator }> {
    const { page: first } = await openPage(browser.context, url);
    await signedIn(first, 'chat-widget');
    const { page } = await openPage(browser.context, url);
    await signedIn(page, 'chat-widget');
    const widget = page.locator('chat-widget');
    await widget.locator('.launcher').click();
    return { first, page, widget };
  }
});
