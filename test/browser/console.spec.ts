import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Locator, Page, WebSocketRoute } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import { startTcpProxy } from '../tcp-proxy.js';
import {
  agentSends, axeViolations, buildWebComponents, expectText, focused, holdsFocus, launchBrowser, openPage, requireChromium, signedIn, takeChat, TestApp,
  waitUntil,
} from './harness.js';

/** The agent console: its inbox, and what it tells its host page. */
describe('the agent console', () => {
  let app: TestApp;
  let browser: { context: BrowserContext; close: () => Promise<void> };

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    app = await TestApp.start();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  // More chats waiting than one page of `GET /api/sessions` holds: who has waited longest is
  // first in line, and must be in the list.
  it('lists every waiting chat, the oldest first, not only the 100 newest', async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const subjects = Array.from({ length: 102 }, (_, i) => (i === 0 ? 'Oldest waiting' : `Waiting ${i + 1}`));
    // A customer may have 3 chats open at once: 34 customers, opened one after the other.
    for (let first = 0; first < subjects.length; first += 3) {
      const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
      try {
        for (const subject of subjects.slice(first, first + 3)) {
          expect(await customer.send('/app/chat/open', { sessionId: randomUUID(), subject })).toEqual({ ok: true });
        }
      } finally {
        await customer.disconnect();
      }
    }
    const token = await app.token('agent-check', 'agent');
    type Sessions = { items: unknown[]; nextCursor: string | null };
    await waitUntil(async () => {
      const first = await app.get<Sessions>('/api/sessions?status=waiting&limit=100', token);
      const rest = first.nextCursor ? await app.get<Sessions>(`/api/sessions?status=waiting&limit=100&cursor=${encodeURIComponent(first.nextCursor)}`, token) : { items: [] };
      return first.items.length + rest.items.length === subjects.length;
    }, undefined, 15_000);

    const { page } = await openPage(browser.context, `${app.url}/agent`);
    await signedIn(page, 'agent-console');
    const console = page.locator('agent-console');
    await expectText(console.locator('#section-waiting'), 'Waiting (102)');
    expect(await console.locator('#section-waiting + ul .item .subject').first().textContent()).toBe('Oldest waiting');
  }, 90_000);

  it('tells its host page of a close once it happens, not when a tab replays one that happened before', async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    const [closedBefore, closedLive] = [randomUUID(), randomUUID()];
    try {
      expect(await customer.send('/app/chat/open', { sessionId: closedBefore, subject: 'Closed before' })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${closedBefore}/close`, {})).toEqual({ ok: true });
      expect(await customer.send('/app/chat/open', { sessionId: closedLive, subject: 'Closed live' })).toEqual({ ok: true });

      const { page } = await openPage(browser.context, `${app.url}/agent`);
      await page.evaluate(() => {
        const told: unknown[] = [];
        Object.assign(window, { told });
        document.addEventListener('chat-session-closed', (event) => told.push((event as CustomEvent).detail));
      });
      const closedTold = () => page.evaluate(() => (window as unknown as { told: { sessionId: string }[] }).told.map((detail) => detail.sessionId));
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      // Each tab opened, and its history replayed, in turn: the close before, then the live chat's opening.
      for (const [sessionId, subject, lastLine] of [
        [closedBefore, 'Closed before', 'The customer closed the chat.'],
        [closedLive, 'Closed live', 'Chat opened: Closed live'],
      ] as const) {
        const item = console.locator(`.item[data-session-id="${sessionId}"]`);
        await expectText(item.locator('.subject'), subject);
        await item.click();
        await expectText(console.locator('.pane .line.system').last(), lastLine);
      }

      expect(await customer.send(`/app/chat/${closedLive}/close`, {})).toEqual({ ok: true });
      await waitUntil(async () => (await closedTold()).length > 0);
      expect(await closedTold()).toEqual([closedLive]);
      await page.close();
    } finally {
      await customer.disconnect();
    }
  }, 90_000);

  // The inbox topic is live only: what happened while the console was offline, it learns from the
  // lists it reads again. A chat closed meanwhile, with 30 started after it and closed too, is in
  // none of them (the closed list holds the 30 started last).
  it('reads again, after a reconnection, a chat it listed as waiting that was closed meanwhile and is in no list now', async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const proxy = await startTcpProxy(app.port);
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    const gone = randomUUID();
    try {
      expect(await customer.send('/app/chat/open', { sessionId: gone, subject: 'Closed while offline' })).toEqual({ ok: true });
      // The console's page, and so its API calls and its STOMP connection, through the proxy.
      const { page } = await openPage(browser.context, `http://127.0.0.1:${proxy.port}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      const waiting = console.locator(`ul[aria-labelledby="section-waiting"] .item[data-session-id="${gone}"]`);
      await expectText(waiting.locator('.subject'), 'Closed while offline');

      await proxy.cut();
      await expectText(console.locator('.status'), 'Can’t reach the chat server.', { startsWith: true });
      expect(await customer.send(`/app/chat/${gone}/close`, {})).toEqual({ ok: true });
      // Opened and closed one after the other (one open at a time), 15 to a connection (its SENDs are limited).
      for (let batch = 0; batch < 2; batch += 1) {
        const other = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
        try {
          for (let i = 0; i < 15; i += 1) {
            const sessionId = randomUUID();
            expect(await other.send('/app/chat/open', { sessionId, subject: `Started later ${batch * 15 + i + 1}` })).toEqual({ ok: true });
            expect(await other.send(`/app/chat/${sessionId}/close`, {})).toEqual({ ok: true });
          }
        } finally {
          await other.disconnect();
        }
      }
      await proxy.restore();

      // Back online, the lists read again (the reconnection's back-off may take 10 s).
      const latestClosed = console.locator('ul[aria-labelledby="section-closed"] .item .subject').first();
      await waitUntil(async () => (await latestClosed.textContent()) === 'Started later 30', async () => `the latest closed is "${await latestClosed.textContent()}"`, 30_000);
      await waitUntil(async () => (await waiting.count()) === 0, async () => 'the chat closed while offline is still listed as waiting');
      await page.close();
    } finally {
      await customer.disconnect();
      await proxy.close();
    }
  }, 90_000);

  it("counts unread messages in another agent's chat open in a tab here as the server does, once that agent has read them", async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    const other = await StompTestClient.connect(stomp, await app.token(`agent-${randomUUID()}`, 'agent', 'Bea'));
    try {
      const sessionId = randomUUID();
      expect(await customer.send('/app/chat/open', { sessionId, subject: 'Watched in a tab' })).toEqual({ ok: true });
      const { page } = await openPage(browser.context, `${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      const item = console.locator(`.item[data-session-id="${sessionId}"]`);
      await item.click(); // read only here: the chat is not this agent's to answer, nor to mark read
      await expectText(console.locator('.pane .line.system').last(), 'Chat opened: Watched in a tab');

      const messageIds = [randomUUID(), randomUUID()];
      for (const [i, messageId] of messageIds.entries()) {
        expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId, body: `Photo ${i + 1}` })).toEqual({ ok: true });
      }
      await expectText(item.locator('.unread'), '2');
      expect(await other.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
      expect(await other.send(`/app/chat/${sessionId}/read`, { upToMessageId: messageIds[1] })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'And one more' })).toEqual({ ok: true });
      await expectText(console.locator('.pane li.other .bubble').last(), 'And one more');
      await expectText(item.locator('.preview'), 'And one more');
      await expectText(item.locator('.unread'), '1');
      await page.close();
    } finally {
      await customer.disconnect();
      await other.disconnect();
    }
  });

  it("names the agent who took a chat after a reload as it did live, not by the agent's user id", async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const other = await StompTestClient.connect(stomp, await app.token(`agent-${randomUUID()}`, 'agent', 'Bea'));
    try {
      await withWaitingChat('Taken by Bea', async (page, sessionId) => {
        await page.goto(`${app.url}/agent`);
        await signedIn(page, 'agent-console');
        const item = page.locator(`agent-console .item[data-session-id="${sessionId}"]`);
        await expectText(item.locator('.subject'), 'Taken by Bea');
        expect(await other.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
        await expectText(item.locator('.who-line'), 'with Bea');

        await page.reload();
        await signedIn(page, 'agent-console');
        await expectText(item.locator('.subject'), 'Taken by Bea');
        await expectText(item.locator('.who-line'), 'with Bea');
      });
    } finally {
      await other.disconnect();
    }
  });

  it("leaves the open chat room to be read and answered at a phone's width (375 px)", async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    try {
      const sessionId = randomUUID();
      expect(await customer.send('/app/chat/open', { sessionId, subject: 'Asked from a phone' })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'Where do I leave the keys?' })).toEqual({ ok: true });
      const { page } = await openPage(browser.context, `${app.url}/agent`);
      await page.setViewportSize({ width: 375, height: 740 });
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      await console.locator(`.item[data-session-id="${sessionId}"]`).click();
      await console.getByRole('button', { name: 'Take chat' }).click();
      const reply = console.locator('.pane .composer textarea');
      await reply.waitFor();

      // The pane, its customer's message and the reply box: on the screen, wide enough for a line of words.
      for (const part of [console.locator('.pane'), console.locator('.pane li.other .bubble'), reply]) {
        const box = (await part.boundingBox())!;
        expect({ left: box.x >= 0, right: box.x + box.width <= 375 }).toEqual({ left: true, right: true });
      }
      expect((await console.locator('.pane').boundingBox())!.width).toBeGreaterThanOrEqual(280);
      expect((await reply.boundingBox())!.width).toBeGreaterThanOrEqual(200);
      await page.close();
    } finally {
      await customer.disconnect();
    }
  });

  // On a phone the console shows the inbox, or the chat opened from it, each with the whole
  // console's height: the transcript and the reply box are not squeezed under the inbox.
  it("shows the inbox or the chat opened from it, one at a time, at a phone's width (375 px); the focus goes to the chat's heading and back to its entry", async () => {
    await withWaitingChat('One at a time', async (page, sessionId) => {
      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      const item = console.locator(`.item[data-session-id="${sessionId}"]`);
      await item.press('Enter');
      await waitUntil(() => holdsFocus(console.locator('.pane').getByRole('heading')), async () => `the focus is on ${await focused(page)}`);
      expect(await shown(console)).toEqual({ inbox: false, chat: true });
      const [pane, whole] = [(await console.locator('.pane').boundingBox())!, (await console.boundingBox())!];
      expect(pane.height / whole.height).toBeGreaterThan(0.8);
      expect(await axeViolations(page, 'agent-console')).toEqual([]);

      await console.getByRole('button', { name: 'Back to inbox' }).press('Enter');
      await waitUntil(() => holdsFocus(item), async () => `the focus is on ${await focused(page)}`);
      expect(await shown(console)).toEqual({ inbox: true, chat: false });
      expect(await axeViolations(page, 'agent-console')).toEqual([]);
    });
  });

  it("says on its way back to the inbox at a phone's width (375 px), live, how many other chats wait, and how many messages in the agent's other chats are unread", async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    try {
      const [background, inView, later] = [randomUUID(), randomUUID(), randomUUID()];
      expect(await customer.send('/app/chat/open', { sessionId: background, subject: 'Taken, in the background' })).toEqual({ ok: true });
      expect(await customer.send('/app/chat/open', { sessionId: inView, subject: 'Taken, in view' })).toEqual({ ok: true });
      const { page } = await openPage(browser.context, `${app.url}/agent`);
      await page.setViewportSize({ width: 375, height: 740 });
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      const back = console.getByRole('button', { name: 'Back to inbox' });
      for (const sessionId of [background, inView]) {
        await console.locator(`.item[data-session-id="${sessionId}"]`).click();
        await console.getByRole('button', { name: 'Take chat' }).click();
        await console.locator('.pane .composer textarea').waitFor();
        if (sessionId === background) await back.click();
      }
      const counted = async () => {
        const text = (await back.textContent()) ?? '';
        return { waiting: Number(/(\d+) waiting/.exec(text)?.[1] ?? 0), unread: Number(/(\d+) unread/.exec(text)?.[1] ?? 0) };
      };
      const before = await counted();

      expect(await customer.send('/app/chat/open', { sessionId: later, subject: 'Opened while answering' })).toEqual({ ok: true });
      await waitUntil(async () => (await counted()).waiting === before.waiting + 1, async () => `the way back says "${await back.textContent()}"`);
      expect(await customer.send(`/app/chat/${background}/messages`, { messageId: randomUUID(), body: 'Are you there?' })).toEqual({ ok: true });
      await waitUntil(async () => (await counted()).unread === before.unread + 1, async () => `the way back says "${await back.textContent()}"`);

      // A waiting chat shown is not counted among those waiting elsewhere.
      await back.click();
      await console.locator(`.item[data-session-id="${later}"]`).click();
      const listed = Number(/\((\d+)\)/.exec((await console.locator('#section-waiting').textContent()) ?? '')?.[1]);
      await waitUntil(async () => (await counted()).waiting === listed - 1, async () => `${listed} waiting; the way back says "${await back.textContent()}"`);
      await page.close();
    } finally {
      await customer.disconnect();
    }
  });

  it("leaves the messages of a chat unread while a phone shows the inbox (375 px), and reads them once the chat is shown", async () => {
    await withWaitingChat('Written while in the inbox', async (page, sessionId, customer) => {
      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      const item = console.locator(`.item[data-session-id="${sessionId}"]`);
      await takeChat(page, 'Written while in the inbox');
      await console.getByRole('button', { name: 'Back to inbox' }).click();

      for (const body of ['One more thing', 'The fuel card?']) {
        expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body })).toEqual({ ok: true });
      }
      await expectText(item.locator('.preview'), 'The fuel card?');
      await expectText(item.locator('.unread'), '2');
      await item.click();
      await waitUntil(async () => (await item.locator('.unread').count()) === 0, async () => `${await item.locator('.unread').textContent()} unread`);
    });
  });

  it("shows a chat's latest messages when a phone goes back to it from the inbox (375 px), those written meanwhile too", async () => {
    await withWaitingChat('Long chat on a phone', async (page, sessionId, customer) => {
      for (let i = 1; i <= 30; i += 1) {
        expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: `Question ${i}` })).toEqual({ ok: true });
      }
      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      const item = console.locator(`.item[data-session-id="${sessionId}"]`);
      await item.click();
      await expectText(console.locator('.pane li.other .bubble').last(), 'Question 30');
      await console.getByRole('button', { name: 'Back to inbox' }).click();
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'Written meanwhile' })).toEqual({ ok: true });
      await expectText(item.locator('.preview'), 'Written meanwhile');

      await item.click();
      const latest = console.locator('.pane li.other .bubble').last();
      await expectText(latest, 'Written meanwhile');
      const [line, scroller] = [(await latest.boundingBox())!, (await console.locator('.pane .scroll').boundingBox())!];
      expect(line.y + line.height).toBeLessThanOrEqual(scroller.y + scroller.height);
    });
  });

  // Embedded in a narrow column of a wide page, the console goes by its own width, not the screen's.
  it('shows one thing at a time in a column as narrow as a phone on a wide screen, and both side by side once the column is wide', async () => {
    await withWaitingChat('In a narrow column', async (page, sessionId) => {
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      await console.evaluate((element: HTMLElement) => (element.style.width = '360px'));
      await console.locator(`.item[data-session-id="${sessionId}"]`).click();
      await waitUntil(async () => JSON.stringify(await shown(console)) === JSON.stringify({ inbox: false, chat: true }), async () => JSON.stringify(await shown(console)));

      await console.evaluate((element: HTMLElement) => (element.style.width = ''));
      await waitUntil(async () => JSON.stringify(await shown(console)) === JSON.stringify({ inbox: true, chat: true }), async () => JSON.stringify(await shown(console)));
      expect(await console.getByRole('button', { name: 'Back to inbox' }).count()).toBe(0);
    });
  });

  // A window narrowed (or a phone turned upright) hides the part the focus was in.
  it('keeps the focus in the console when its width hides where the focus was: on the chat shown, then on its tab', async () => {
    await withWaitingChat('Focus across widths', async (page, sessionId) => {
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      const item = console.locator(`.item[data-session-id="${sessionId}"]`);
      await item.click();
      await item.focus();
      await console.evaluate((element: HTMLElement) => (element.style.width = '360px'));
      await waitUntil(() => holdsFocus(console.locator('.pane').getByRole('heading')), async () => `the focus is on ${await focused(page)}`);

      await console.getByRole('button', { name: 'Back to inbox' }).focus();
      await console.evaluate((element: HTMLElement) => (element.style.width = ''));
      await waitUntil(() => holdsFocus(console.getByRole('tab', { selected: true })), async () => `the focus is on ${await focused(page)}`);
    });
  });

  it('reads the lists of chats again when the first reading failed, not only at the next reconnection', async () => {
    await withWaitingChat('Listed at last', async (page) => {
      // A network that drops the console's first requests for the lists, then carries them again.
      let failed = 0;
      await page.route(/\/api\/sessions\?status=/, (route) => (failed++ < 3 ? route.abort('internetdisconnected') : route.continue()));
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      await expectText(console.locator('.status.error'), 'The list of chats could not be loaded', { startsWith: true });
      await waitUntil(async () => (await console.locator('.item', { hasText: 'Listed at last' }).count()) === 1, async () => `the inbox lists ${
        JSON.stringify(await console.locator('.item .subject').allTextContents())} and says ${JSON.stringify(await console.locator('.status.error').allTextContents())}, after ${failed} requests`, 15_000);
    });
  });

  // The replies go one at a time, each once the one before is stored (its RECEIPT), and the close
  // behind them (until 2026-12-07 it went at once, ahead of them). Here the RECEIPT of the first
  // reply is slow (a busy server, a slow network) until the agent has pressed "Close chat".
  it("stores the replies written before 'Close chat' ahead of the close, not refused after it", async () => {
    await withWaitingChat('Goodbye and close', async (page, sessionId) => {
      let release: (() => void) | undefined;
      await receiptOfFirst(page, (frame) => frame.includes('Thank you, goodbye.'), (deliver) => (release = deliver));
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      await takeChat(page, 'Goodbye and close');
      await agentSends(page, 'Thank you, goodbye.');
      await agentSends(page, 'Have a nice trip!');
      await waitUntil(async () => release !== undefined); // the first reply stored, its RECEIPT on its way
      await console.getByRole('button', { name: 'Close chat' }).click();
      await page.evaluate(() => 0); // what the click sent has reached the route
      release!();

      await expectText(console.locator('.pane .line.system').last(), 'You closed the chat.');
      const agent = await app.token('agent-check', 'agent');
      const stored = () => app.get<{ items: { content: string; messageType: string }[] }>(`/api/sessions/${sessionId}/messages`, agent);
      await waitUntil(async () => (await stored()).items.some((message) => message.messageType === 'close'));
      const messages = await stored();
      expect({
        stored: messages.items.filter((message) => message.messageType === 'text').map((message) => message.content),
        failed: await console.locator('.pane li.own.failed .reason').allTextContents(),
      }).toEqual({ stored: ['Thank you, goodbye.', 'Have a nice trip!'], failed: [] });
    });
  }, 60_000);

  it('does not say a take failed when the take was stored and only its RECEIPT was lost with the connection', async () => {
    await withWaitingChat('Taken as the line dropped', async (page) => {
      // The connection drops just as the take's RECEIPT comes back: the take is stored, the console not told.
      let dropped = false;
      await receiptOfFirst(page, (frame) => /\ndestination:\/app\/chat\/[^/\n]+\/join\n/.test(frame), (_, socket) => {
        dropped = true;
        void socket.close({ code: 1006, reason: 'dropped' });
      });
      await page.addInitScript(() => {
        const states: string[] = ((window as unknown as { states: string[] }).states = []);
        document.addEventListener('chat-connection-change', (event) => states.push((event as CustomEvent<{ state: string }>).detail.state));
      });
      await page.goto(`${app.url}/agent`);
      await signedIn(page, 'agent-console');
      const console = page.locator('agent-console');
      await console.locator('.item', { hasText: 'Taken as the line dropped' }).click();
      await console.getByRole('button', { name: 'Take chat' }).click();

      const onlineTimes = async () => (await page.evaluate(() => (window as unknown as { states: string[] }).states)).filter((state) => state === 'online').length;
      await waitUntil(async () => dropped && (await onlineTimes()) === 2); // back online
      await console.locator('.pane .composer textarea').waitFor(); // the chat is this agent's
      expect(await console.locator('.pane .status.error').allTextContents()).toEqual([]);
    });
  });

  // A host page's identity provider gives tokens of a few minutes (10 s here); the server ends a
  // connection at its token's expiry. The console asks for the next token before that, as the widget does.
  it('asks its host page for a new token before its token expires, not once the server has refused it', async () => {
    // A support desk of another site, embedding the console with one script tag and the server's address.
    const site = createServer((_, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
      <html lang="en"><title>Support desk</title>
      <script>
        window.asked = [];
        window.states = [];
        document.addEventListener('chat-connection-change', (event) => states.push(event.detail.state));
        document.addEventListener('chat-auth-required', async (event) => {
          asked.push(event.detail.reason);
          if (event.detail.reason !== 'no token') event.target.token = await freshToken(); // as a host page renews it
        });
      </script>
      <script type="module" src="${app.url}/widget.js"></script>
      <agent-console server="${app.url}"></agent-console></html>`));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const page = await browser.context.newPage();
    try {
      const agentId = `agent-${randomUUID()}`;
      await page.exposeFunction('freshToken', () => app.token(agentId, 'agent'));
      await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      const shortLived = await app.shortLivedToken(agentId, 'agent', 10);
      await page.locator('agent-console').evaluate((element, token) => ((element as HTMLElement & { token: string }).token = token), shortLived);
      const seen = () => page.evaluate(() => {
        const { asked, states } = window as unknown as { asked: string[]; states: string[] };
        return { asked: asked.filter((reason) => reason !== 'no token'), states };
      });

      await waitUntil(async () => (await seen()).asked.length > 0 && (await seen()).states.at(-1) === 'online', async () => JSON.stringify(await seen()), 30_000);
      const { asked, states } = await seen();
      expect({ asked, states: states.filter((state) => state === 'auth-required' || state === 'offline') })
        .toEqual({ asked: ['the token expires in a minute'], states: [] });
    } finally {
      await page.close(); // its host page renewing tokens no more
      site.close();
    }
  }, 60_000);

  /** Whether the console shows its inbox, and the open chat, as the agent sees them. */
  async function shown(console: Locator): Promise<{ inbox: boolean; chat: boolean }> {
    return { inbox: await console.locator('nav.inbox').isVisible(), chat: await console.locator('.pane').isVisible() };
  }

  /** A customer's chat about `subject`, opened over STOMP and waiting; and a page of its own for the console. */
  async function withWaitingChat(subject: string, use: (page: Page, sessionId: string, customer: StompTestClient) => Promise<void>): Promise<void> {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    const sessionId = randomUUID();
    const page = await browser.context.newPage();
    try {
      expect(await customer.send('/app/chat/open', { sessionId, subject })).toEqual({ ok: true });
      await use(page, sessionId, customer);
    } finally {
      await page.close();
      await customer.disconnect();
    }
  }
});

/**
 * Carries the page's STOMP connections through the test, but for the RECEIPT of the first SEND
 * `isSend` picks: `onReceipt` gets it instead, with `deliver` to pass it on, and the page's socket.
 */
async function receiptOfFirst(page: Page, isSend: (frame: string) => boolean, onReceipt: (deliver: () => void, socket: WebSocketRoute) => void): Promise<void> {
  let receipt: string | undefined;
  let taken = false;
  await page.routeWebSocket(/\/stomp$/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((frame) => {
      if (receipt === undefined && String(frame).startsWith('SEND') && isSend(String(frame))) receipt = /\nreceipt:([^\n]*)/.exec(String(frame))?.[1];
      server.send(frame);
    });
    server.onMessage((frame) => {
      if (taken || receipt === undefined || !String(frame).startsWith(`RECEIPT\nreceipt-id:${receipt}\n`)) return socket.send(frame);
      taken = true;
      onReceipt(() => socket.send(frame), socket);
    });
  });
}
