import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import {
  agentSends, axeViolations, bubbles, buildWebComponents, customerSends, expectText, launchBrowser, openPage, requireChromium,
  signedIn, startChat, takeChat, TestApp, waitUntil,
} from './harness.js';

interface AuditedEvent {
  revision: number;
  type: string;
  data: Record<string, unknown>;
}

/** Keeps, in the page, the detail of every `chat-replay-loaded` from then on (as `window.loads`). */
function recordLoads(): void {
  const loads: unknown[] = [];
  Object.assign(window, { loads });
  document.addEventListener('chat-replay-loaded', (event) => loads.push((event as CustomEvent).detail));
}

/** The detail of the last `chat-replay-loaded` recorded by {@link recordLoads}, once there is one. */
async function lastLoad(page: Page): Promise<Record<string, unknown>> {
  const loads = () => page.evaluate(() => (window as unknown as { loads: Record<string, unknown>[] }).loads);
  await waitUntil(async () => (await loads()).length > 0);
  return (await loads()).at(-1)!;
}

/**
 * A whole conversation (customer page and agent console), then the auditor's page: the
 * timeline, the scrubber showing the session as it was at an earlier revision (the same as the
 * server's own replay, `GET …/state?revision=N`), and the hash-chain verdict, intact then broken,
 * recomputed in the browser and set beside the server's.
 */
describe('the auditor replaying a session', () => {
  let app: TestApp;
  let browser: { context: BrowserContext; close: () => Promise<void> };
  let auditor: Page;
  let replay: Locator;
  let sessionId: string;
  let events: AuditedEvent[];
  let auditorToken: string;

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    app = await TestApp.start();
    browser = await launchBrowser();
    const { page: customer } = await openPage(browser.context, `${app.url}/`);
    const { page: agent } = await openPage(browser.context, `${app.url}/agent`);
    await signedIn(agent, 'agent-console');
    await startChat(customer, 'Keys locked in the car');
    await customerSends(customer, 'My keys are locked in the car.');
    await takeChat(agent, 'Keys locked in the car');
    await agentSends(agent, 'A locksmith is on the way.');
    await customer.locator('chat-widget li.other', { hasText: 'locksmith' }).waitFor();
    await customer.locator('chat-widget').getByRole('button', { name: 'End chat' }).click();
    await customer.locator('chat-widget label[for="star-5"]').click();
    await customer.locator('chat-widget').getByRole('button', { name: 'Send rating' }).click();
    await customer.locator('chat-widget .done').waitFor();

    auditorToken = await app.token('auditor-1', 'auditor');
    await waitUntil(async () => (await app.get<{ items: unknown[] }>('/api/sessions', auditorToken)).items.length === 1);
    sessionId = (await app.get<{ items: { sessionId: string }[] }>('/api/sessions', auditorToken)).items[0]!.sessionId;
    events = (await app.get<{ events: AuditedEvent[] }>(`/api/audit/sessions/${sessionId}/events`, auditorToken)).events;

    ({ page: auditor } = await openPage(browser.context, `${app.url}/auditor?session=${sessionId}`));
    replay = auditor.locator('session-replay');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('lists every event with its actor and time, and says the hash chain is intact, checked in the browser too', async () => {
    await expectText(replay.locator('.verdict'), `✔ Hash chain intact over ${events.length} events: checked in this browser and by the server`);
    const entries = replay.locator('button.event');
    expect(await entries.count()).toBe(events.length);
    await expectText(entries.nth(0).locator('.type'), 'Chat opened: Keys locked in the car');
    expect(await entries.nth(0).locator('.actor').textContent()).toMatch(/^by customer-camille-\w+ \(customer\)$/);
    expect(await entries.nth(0).locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await replay.locator('#scrubber').inputValue()).toBe(String(events.length - 1));
    expect(await bubbles(replay)).toEqual(['My keys are locked in the car.', 'A locksmith is on the way.']);
    await expectText(replay.locator('.facts dd').first(), 'closed');
  });

  it('scrubs back to the revision before the agent answered: the session as the server replays it there', async () => {
    const answer = events.find((event) => event.type === 'ChatMessageSent' && event.data.senderType === 'agent')!;
    const before = answer.revision - 1;

    await replay.locator('#scrubber').fill(String(before));

    await waitUntil(async () => (await bubbles(replay)).length === 1);
    const server = await app.get<{ status: string; transcript: { body: string }[] }>(`/api/audit/sessions/${sessionId}/state?revision=${before}`, auditorToken);
    expect(await bubbles(replay)).toEqual(server.transcript.map((line) => line.body));
    await expectText(replay.locator('.facts dd').first(), server.status);
    expect(await replay.locator(`button.event[data-revision="${answer.revision}"]`).getAttribute('class')).toContain('future');

    // From the keyboard, one step on: the answer is there.
    await replay.locator('#scrubber').press('ArrowRight');
    await waitUntil(async () => (await bubbles(replay)).length === 2);
    // A click on the first event: the session just opened, nothing said yet.
    await replay.locator('button.event[data-revision="0"]').click();
    await waitUntil(async () => (await bubbles(replay)).length === 0);
    await expectText(replay.locator('.facts dd').first(), 'waiting');
  });

  it("tells the host page the server's verdict and the browser's own", async () => {
    await auditor.evaluate(recordLoads);

    await replay.getByRole('button', { name: 'Reload' }).click();

    expect(await lastLoad(auditor)).toEqual({ sessionId, events: events.length, ok: true, checkedInBrowser: true, browserVerdict: { ok: true } });
  });

  it('says plainly, in a browser without WebCrypto (plain http off localhost), that only the server checked', async () => {
    // This Chromium takes parley.test for this machine: a page there is no secure context.
    const insecure = await launchBrowser(['--host-resolver-rules=MAP parley.test 127.0.0.1']);
    try {
      const page = await insecure.context.newPage();
      await page.addInitScript(recordLoads);
      await page.goto(`http://parley.test:${app.port}/auditor?session=${sessionId}`);
      expect(await page.evaluate(() => [isSecureContext, typeof crypto.subtle])).toEqual([false, 'undefined']);

      await expectText(
        page.locator('session-replay .verdict'),
        `This browser could not check the hash chain itself (it needs https, or http on localhost). The server says: intact over ${events.length} events.`,
      );
      expect(await lastLoad(page)).toEqual({ sessionId, events: events.length, ok: true, checkedInBrowser: false });
    } finally {
      await insecure.close();
    }
  });

  it('passes an axe-core check', async () => {
    expect(await axeViolations(auditor, 'session-replay')).toEqual([]);
  });

  /** A session of 24 messages, more than the replay shows without scrolling; its id. */
  async function longSession(): Promise<string> {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    const agent = await StompTestClient.connect(stomp, await app.token(`agent-${randomUUID()}`, 'agent', 'Ada'));
    try {
      const id = randomUUID();
      expect(await customer.send('/app/chat/open', { sessionId: id, subject: 'A long conversation' })).toEqual({ ok: true });
      expect(await agent.send(`/app/chat/${id}/join`, {})).toEqual({ ok: true });
      for (let i = 1; i <= 12; i += 1) {
        expect(await customer.send(`/app/chat/${id}/messages`, { messageId: randomUUID(), body: `Question ${i}` })).toEqual({ ok: true });
        expect(await agent.send(`/app/chat/${id}/messages`, { messageId: randomUUID(), body: `Answer ${i}` })).toEqual({ ok: true });
      }
      return id;
    } finally {
      await customer.disconnect();
      await agent.disconnect();
    }
  }

  it('passes an axe-core check with a transcript longer than its box (scrolled from the keyboard too)', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${app.url}/auditor?session=${await longSession()}`);
    const long = page.locator('session-replay');
    await expectText(long.locator('.verdict'), '✔ Hash chain intact over 26 events', { startsWith: true });
    expect(await long.locator('section[part="state"]').evaluate((state) => state.scrollHeight > state.clientHeight)).toBe(true);
    expect(await axeViolations(page, 'session-replay')).toEqual([]);
    await page.close();
  });

  it('shows the session as it is now after Reload, where the auditor had left it at its last revision', async () => {
    const stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    try {
      const id = randomUUID();
      expect(await customer.send('/app/chat/open', { sessionId: id, subject: 'Still going on' })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${id}/messages`, { messageId: randomUUID(), body: 'First question' })).toEqual({ ok: true });
      const page = await browser.context.newPage();
      await page.goto(`${app.url}/auditor?session=${id}`);
      const live = page.locator('session-replay');
      await expectText(live.locator('output[for="scrubber"]'), 'Revision 1 of 1 · ', { startsWith: true });

      expect(await customer.send(`/app/chat/${id}/messages`, { messageId: randomUUID(), body: 'Second question' })).toEqual({ ok: true });
      await live.getByRole('button', { name: 'Reload', exact: true }).click();

      await expectText(live.locator('.verdict'), '✔ Hash chain intact over 3 events', { startsWith: true });
      await expectText(live.locator('output[for="scrubber"]'), 'Revision 2 of 2 · ', { startsWith: true });
      expect(await bubbles(live)).toEqual(['First question', 'Second question']);
      await page.close();
    } finally {
      await customer.disconnect();
    }
  });

  it("shows the events and the session at the chosen revision within the replay at a phone's width (375 px)", async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${app.url}/auditor?session=${sessionId}`);
    const narrow = page.locator('session-replay');
    await expectText(narrow.locator('.verdict'), '✔ Hash chain intact', { startsWith: true });
    const host = (await narrow.boundingBox())!;
    for (const part of ['section.timeline', 'section[part="state"]']) {
      const box = (await narrow.locator(part).boundingBox())!;
      expect({ part, left: box.x >= host.x, right: box.x + box.width <= host.x + host.width }).toEqual({ part, left: true, right: true });
    }
    await page.close();
  });

  it("keeps the auditor's page within a phone's width (375 px): the session picker, its long entries too, does not push it sideways", async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${app.url}/auditor?session=${sessionId}`);
    const picker = page.locator('select#session');
    await expectText(picker.locator('option:checked'), 'Keys locked in the car — ', { startsWith: true });
    const box = (await picker.boundingBox())!;
    expect({ pickerRight: box.x + box.width <= 375, pageWidth: await page.evaluate(() => document.documentElement.scrollWidth) }).toEqual({ pickerRight: true, pageWidth: 375 });
    await page.close();
  });

  it('says where the hash chain breaks when a stored event was altered', async () => {
    const answer = events.find((event) => event.type === 'ChatMessageSent' && event.data.senderType === 'agent')!;
    const client = new pg.Client({ connectionString: app.databaseUrl });
    await client.connect();
    try {
      // The events table refuses updates (a trigger): an attacker with the database's keys would lift it.
      await client.query('ALTER TABLE events DISABLE TRIGGER USER');
      await client.query(
        `UPDATE events SET data = jsonb_set(data, '{body}', '"No locksmith today."') WHERE stream_name = $1 AND revision = $2`,
        [`chat_session-${sessionId}`, answer.revision],
      );
      await client.query('ALTER TABLE events ENABLE TRIGGER USER');
    } finally {
      await client.end();
    }

    await replay.getByRole('button', { name: 'Reload' }).click();

    await expectText(
      replay.locator('.verdict'),
      `✘ Hash chain broken at revision ${answer.revision}: events from there on may have been altered (found in this browser and by the server)`,
    );
    expect(await replay.locator(`button.event[data-revision="${answer.revision}"]`).getAttribute('class')).toContain('broken');
  });

  it('says prominently that the verdicts disagree when the server calls the altered chain intact', async () => {
    const answer = events.find((event) => event.type === 'ChatMessageSent' && event.data.senderType === 'agent')!;
    // A faulty or lying server: its `…/verify` answers intact, whatever the events hold.
    const verify = `**/api/audit/sessions/${sessionId}/verify`;
    await auditor.route(verify, (route) => route.fulfill({ json: { ok: true } }));
    try {
      await auditor.evaluate(recordLoads);
      await replay.getByRole('button', { name: 'Reload' }).click();

      const verdict = replay.locator('.verdict');
      await expectText(
        verdict,
        "⚠ The server's verdict and this browser's disagree. Checked in this browser, the hash chain is broken at revision " +
          `${answer.revision}; the server says it is intact over ${events.length} events. The server may be faulty, or lying.`,
      );
      expect(await verdict.getAttribute('role')).toBe('alert');
      expect(await replay.locator(`button.event[data-revision="${answer.revision}"]`).getAttribute('class')).toContain('broken');
      expect(await lastLoad(auditor)).toEqual({
        sessionId, events: events.length, ok: true, checkedInBrowser: true, browserVerdict: { ok: false, brokenAtRevision: answer.revision },
      });
      expect(await axeViolations(auditor, 'session-replay')).toEqual([]);
    } finally {
      await auditor.unroute(verify);
    }
  });

  it('names events by their stored revisions when the stored history lacks one', async () => {
    const answer = events.find((event) => event.type === 'ChatMessageSent' && event.data.senderType === 'agent')!;
    const lastRevision = events.at(-1)!.revision;
    const client = new pg.Client({ connectionString: app.databaseUrl });
    await client.connect();
    try {
      await client.query('ALTER TABLE events DISABLE TRIGGER USER');
      await client.query('DELETE FROM events WHERE stream_name = $1 AND revision = $2', [`chat_session-${sessionId}`, answer.revision]);
      await client.query('ALTER TABLE events ENABLE TRIGGER USER');
    } finally {
      await client.end();
    }

    await replay.getByRole('button', { name: 'Reload' }).click();

    // The verdict reads as after the edit before: the list, one event short, says the reload is done.
    // The browser, as the server, names the missing revision, not the stored one of the event after it.
    await waitUntil(async () => (await replay.locator('button.event').count()) === events.length - 1);
    await expectText(
      replay.locator('.verdict'),
      `✘ Hash chain broken at revision ${answer.revision}: events from there on may have been altered (found in this browser and by the server)`,
    );
    await replay.locator(`button.event[data-revision="${lastRevision}"]`).click();
    await expectText(replay.locator('output[for="scrubber"]'), `Revision ${lastRevision} of ${lastRevision} · `, { startsWith: true });
    expect(await replay.locator(`button.event[data-revision="${lastRevision}"]`).getAttribute('aria-current')).toBe('true');
    expect(await replay.locator('#scrubber').inputValue()).toBe(String(events.length - 2));
    // The event after the gap, chosen: shown as current, and the one after it as still to come.
    await replay.locator(`button.event[data-revision="${answer.revision + 1}"]`).click();
    await expectText(replay.locator('output[for="scrubber"]'), `Revision ${answer.revision + 1} of ${lastRevision} · `, { startsWith: true });
    expect(await replay.locator(`button.event[data-revision="${answer.revision + 2}"]`).getAttribute('class')).toContain('future');
  });
});
