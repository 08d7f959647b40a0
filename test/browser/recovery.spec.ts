import { randomUUID } from 'node:crypto';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js';
import {
  agentSends, bubbles, buildWebComponents, customerSends, expectAttribute, expectText, launchBrowser, openPage, requireChromium,
  signedIn, startChat, takeChat, TestApp, waitUntil,
} from './harness.js';

/**
 * The widget losing its connection: the customer's network alone (a TCP proxy between its page
 * and the server, cut and restored), then the server itself (killed and started again), then a
 * page reload; and the agent console closed while the server is down. Nothing written on either
 * side is lost or shown twice, and what cannot be sent (a chat that may not be opened) is told.
 */
describe('the widget across lost connections, a server restart and a reload', () => {
  let app: TestApp;
  let proxy: TcpProxy;
  let browser: { context: BrowserContext; close: () => Promise<void> };
  let customer: Page;
  let agent: Page;
  let widget: Locator;
  let console: Locator;
  let sessionId: string;
  const subject = 'Child seat for Saturday';
  /** Every message of the conversation, in the order the server stores them. */
  const transcript: string[] = [];
  /**
   * Waits out the pages' reconnection back-off (10 s at most, give or take 20 %): their clock
   * jumps it, firing the attempt due, which then goes as it would have.
   */
  const waitOutBackoff = () => browser.context.clock.fastForward(12_000);

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    app = await TestApp.start();
    proxy = await startTcpProxy(app.port);
    browser = await launchBrowser();
    await browser.context.clock.install(); // it flows as the real one but for waitOutBackoff
    ({ page: customer } = await openPage(browser.context, `http://127.0.0.1:${proxy.port}/`));
    ({ page: agent } = await openPage(browser.context, `${app.url}/agent`));
    widget = customer.locator('chat-widget');
    console = agent.locator('agent-console');
    await signedIn(agent, 'agent-console');

    await startChat(customer, subject);
    await customerSends(customer, 'Can I add a child seat?');
    await takeChat(agent, subject);
    await agentSends(agent, 'Of course. For which age?');
    transcript.push('Can I add a child seat?', 'Of course. For which age?');
    await waitUntil(async () => equal(await bubbles(widget), transcript));
    sessionId = JSON.parse((await customer.evaluate(() => Object.entries(localStorage).find(([key]) => key.startsWith('parley-chat:'))?.[1])) ?? '{}').sessionId;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await app?.close();
  });

  it('says when the server cannot be reached, queues what the customer writes, and catches up on reconnection with no gap', async () => {
    await proxy.cut();
    await expectText(widget.locator('.status'), 'Can’t reach the chat server.', { startsWith: true });
    // The countdown is shown, and kept out of the live region's announcements.
    expect(await widget.locator('.status [aria-hidden="true"]').textContent()).toMatch(/^Retrying in \d+ s…$/);
    await customerSends(customer, 'She is 3.');
    await customerSends(customer, 'And a booster for her brother, 7.');
    await expectAttribute(widget.locator('li.own', { hasText: 'She is 3.' }), 'data-delivery', 'queued');
    // Meanwhile the agent writes; the widget hears nothing of it.
    await agentSends(agent, 'Noted: one child seat.');
    await agentSends(agent, 'Anything else?');
    await console.locator('li.own[data-delivery="stored"]', { hasText: 'Anything else?' }).waitFor();

    await proxy.restore();

    transcript.push('Noted: one child seat.', 'Anything else?', 'She is 3.', 'And a booster for her brother, 7.');
    await waitUntil(async () => equal(await bubbles(widget), transcript), async () => `widget shows ${JSON.stringify(await bubbles(widget))}`, 30_000);
    await waitUntil(async () => equal(await bubbles(console), transcript), async () => `console shows ${JSON.stringify(await bubbles(console))}`);
    await expectAttribute(widget.locator('li.own', { hasText: 'She is 3.' }), 'data-delivery', 'read');
    expect(await widget.locator('.status').count()).toBe(0);
  }, 60_000);

  it('holds 100 unsent messages at most: the next stays in the composer, told why, and goes once they have gone', async () => {
    await proxy.cut();
    await expectText(widget.locator('.status'), 'Can’t reach the chat server.', { startsWith: true });
    const backlog = Array.from({ length: 100 }, (_, i) => `Offline note ${i + 1}`);
    for (const text of backlog) await customerSends(customer, text);
    await expectAttribute(widget.locator('li.own', { hasText: 'Offline note 100' }), 'data-delivery', 'queued');

    await customerSends(customer, 'One too many');
    const full = '100 messages are waiting to be sent already; what you wrote stays here until they have gone.';
    await expectText(widget.locator('.status.error', { hasText: 'messages are waiting' }), full);
    expect(await widget.locator('.composer textarea').inputValue()).toBe('One too many');
    expect(await widget.locator('li.own', { hasText: 'One too many' }).count()).toBe(0);

    await proxy.restore();
    await waitOutBackoff();
    transcript.push(...backlog);
    await waitUntil(async () => equal(await bubbles(console), transcript), async () => `console shows ${JSON.stringify(await bubbles(console))}`, 30_000);
    expect(await widget.locator('.status.error', { hasText: 'messages are waiting' }).count()).toBe(0);
    await widget.locator('.composer textarea').press('Enter');
    transcript.push('One too many');
    await waitUntil(async () => equal(await bubbles(console), transcript), async () => `console shows ${JSON.stringify(await bubbles(console))}`);
    await waitUntil(async () => equal(await bubbles(widget), transcript), async () => `widget shows ${JSON.stringify(await bubbles(widget))}`);
  }, 90_000);

  it('recovers from a server restart mid-conversation: the message written while it was down is stored once', async () => {
    await app.kill();
    await expectText(widget.locator('.status'), 'Can’t reach the chat server.', { startsWith: true });
    await customerSends(customer, 'Are you still there?');
    await expectAttribute(widget.locator('li.own', { hasText: 'Are you still there?' }), 'data-delivery', 'queued');

    await app.resume();
    await waitOutBackoff();

    transcript.push('Are you still there?');
    await waitUntil(async () => equal(await bubbles(console), transcript), async () => `console shows ${JSON.stringify(await bubbles(console))}`, 30_000);
    await agentSends(agent, 'Yes, sorry: a short outage on our side.');
    transcript.push('Yes, sorry: a short outage on our side.');
    await waitUntil(async () => equal(await bubbles(widget), transcript), async () => `widget shows ${JSON.stringify(await bubbles(widget))}`, 30_000);

    const token = await app.token('agent-check', 'agent');
    await waitUntil(async () => {
      const messages = await app.get<{ items: { content: string; messageType: string }[] }>(`/api/sessions/${sessionId}/messages?limit=500`, token);
      return equal(messages.items.filter((m) => m.messageType === 'text').map((m) => m.content), transcript);
    }, undefined, 15_000);
  }, 90_000);

  it('resumes the open chat after a page reload, with the same lines once each, telling the host page only of what is new', async () => {
    // What the widget tells its host page of the agent's messages, from the reloaded page's start.
    await customer.addInitScript(() => {
      const received: string[] = ((window as unknown as { received: string[] }).received = []);
      document.addEventListener('chat-message-received', (event) => received.push((event as CustomEvent<{ body: string }>).detail.body));
    });
    await customer.reload();
    await signedIn(customer, 'chat-widget');
    await widget.locator('.launcher').click();
    await waitUntil(async () => equal(await bubbles(widget), transcript), async () => `widget shows ${JSON.stringify(await bubbles(widget))}`, 15_000);
    await expectText(widget.locator('.header .subject'), subject);
    await widget.locator('.composer textarea').waitFor();

    await customerSends(customer, 'Thanks, that is all.');
    await console.locator('li.other', { hasText: 'Thanks, that is all.' }).waitFor();
    await agentSends(agent, 'You are welcome.');
    transcript.push('Thanks, that is all.', 'You are welcome.');
    await waitUntil(async () => equal(await bubbles(widget), transcript));
    // The history replayed at the load was told before: only the new answer is.
    expect(await customer.evaluate(() => (window as unknown as { received: string[] }).received)).toEqual(['You are welcome.']);
  }, 60_000);

  it("keeps an agent's reply written while the server is down, the console closed, and sends it when the console is back", async () => {
    const reply = 'One more thing: the seat is free of charge.';
    await app.kill();
    await expectText(console.locator('.status'), 'Can’t reach the chat server.', { startsWith: true });
    await agentSends(agent, reply);
    await expectAttribute(console.locator('li.own', { hasText: reply }), 'data-delivery', 'queued');
    await agent.goto('about:blank'); // the page closed: its in-memory outbox gone with it

    await app.resume();
    await agent.goto(`${app.url}/agent`);
    await signedIn(agent, 'agent-console');

    transcript.push(reply);
    await waitUntil(async () => equal(await bubbles(widget), transcript), async () => `widget shows ${JSON.stringify(await bubbles(widget))}`, 30_000);
  }, 60_000);

  it('tells the customer which messages were not sent when the chat they were written in could not be opened', async () => {
    await widget.getByRole('button', { name: 'End chat' }).click();
    await widget.getByRole('button', { name: 'Skip' }).click();
    await widget.getByRole('button', { name: 'Start a new chat' }).click();
    // Meanwhile the same customer opens as many chats as one may have (3) elsewhere.
    const { sub } = JSON.parse((await customer.evaluate(() => localStorage.getItem('parley-demo:customer'))) ?? '{}') as { sub: string };
    const elsewhere = await StompTestClient.connect(`${app.url.replace(/^http/, 'ws')}/stomp`, await app.token(sub, 'customer'));
    for (const subject of ['Elsewhere 1', 'Elsewhere 2', 'Elsewhere 3']) {
      expect(await elsewhere.send('/app/chat/open', { sessionId: randomUUID(), subject })).toEqual({ ok: true });
    }
    await elsewhere.disconnect();
    await customer.evaluate(() => {
      const failed: unknown[] = ((window as unknown as { failed: unknown[] }).failed = []);
      document.querySelector('chat-widget')!.addEventListener('chat-message-failed', (event) => failed.push((event as CustomEvent).detail));
    });

    await proxy.cut();
    await startChat(customer, 'A fourth chat');
    await customerSends(customer, 'Written before the refusal');
    await proxy.restore();
    await waitOutBackoff();

    await expectText(widget.locator('.status.error'), 'You already have as many open chats as allowed; end one before starting another. The message you wrote was not sent.');
    expect(await customer.evaluate(() => (window as unknown as { failed: unknown[] }).failed)).toEqual([
      expect.objectContaining({ code: 'RATE_LIMITED', reason: 'You already have as many open chats as allowed; end one before starting another.' }),
    ]);
  }, 60_000);
});

function equal(actual: readonly string[], expected: readonly string[]): boolean {
  return JSON.stringify(actual) === JSON.stringify(expected);
}
