import { randomUUID } from 'node:crypto';
import type { BrowserContext } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import { buildWebComponents, expectText, launchBrowser, openPage, requireChromium, signedIn, TestApp, waitUntil } from './harness.js';

/**
 * The agent console of a busy service: more chats waiting than one page of `GET /api/sessions`
 * holds. Who has waited longest is first in line, and must be in the list.
 */
describe('the agent console with more than 100 chats waiting', () => {
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
});
