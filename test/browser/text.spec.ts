import { randomUUID } from 'node:crypto';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import {
  axeViolations, buildWebComponents, customerSends, expectAttribute, expectText, launchBrowser, openPage, requireChromium, signedIn, startChat, takeChat,
  TestApp, waitUntil,
} from './harness.js';

/** A lone UTF-16 surrogate: half an emoji, drawn as a replacement glyph. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Messages whose text is not plain ASCII, as each component shows it. */
describe('text beyond ASCII in the components', () => {
  let app: TestApp;
  let browser: { context: BrowserContext; close: () => Promise<void> };
  let stomp: string;

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    app = await TestApp.start();
    browser = await launchBrowser();
    stomp = `${app.url.replace(/^http/, 'ws')}/stomp`;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** A session of a new customer, with one message of the customer's; its id. */
  async function sessionWith(subject: string, body: string): Promise<string> {
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    try {
      const sessionId = randomUUID();
      expect(await customer.send('/app/chat/open', { sessionId, subject })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body })).toEqual({ ok: true });
      return sessionId;
    } finally {
      await customer.disconnect();
    }
  }

  /** Runs `test` on the widget's demo page in a browser, and so as a customer, of its own: a chat of its own. */
  async function inOwnBrowser(test: (page: Page) => Promise<void>): Promise<void> {
    const own = await launchBrowser();
    try {
      const { page } = await openPage(own.context, `${app.url}/`);
      await test(page);
    } finally {
      await own.close();
    }
  }

  /**
   * Puts `max + 1` emoji between white space in a field of `host` (twice as many UTF-16 units;
   * `max + 1` characters as the server counts them, trimmed): it keeps them all, says why they
   * cannot go (described by it, announced, the field invalid), `button` is disabled and Enter (where
   * it submits, `enterSubmits`) does nothing; then `max`, which may go (the caller sends them).
   */
  async function fieldTakesWhatTheServerTakes(
    host: Locator,
    { input, button, max, sentence, enterSubmits }: { input: Locator; button: Locator; max: number; sentence: string; enterSubmits: boolean },
  ): Promise<void> {
    const settled = () => host.evaluate(async (element) => void (await (element as unknown as { updateComplete: Promise<boolean> }).updateComplete));
    await input.fill(` ${'😀'.repeat(max + 1)}\t`);
    const kept = async () => [...(await input.inputValue())].length;
    expect(await kept()).toBe(max + 3); // not cut at `max` UTF-16 units
    await expectText(host.locator(`[id="${await input.getAttribute('aria-describedby')}"]`), sentence);
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    await expectText(host.locator('[aria-live]').first(), sentence);
    expect(await axeViolations(host.page(), await host.evaluate((element) => element.localName))).toEqual([]);
    expect(await button.isDisabled()).toBe(true);
    if (enterSubmits) {
      await input.press('Enter');
      await settled();
      expect(await kept()).toBe(max + 3);
    }

    await input.fill(`\t${'😀'.repeat(max)}  `);
    await settled();
    expect(await input.getAttribute('aria-invalid')).toBeNull();
    expect(await input.getAttribute('aria-describedby')).toBeNull();
    expect(await button.isDisabled()).toBe(false);
  }

  /** The composer of `tag` keeps 4,001 emoji and sends none of them; it sends 4,000, which the server stores. */
  async function composerTakesWhatTheServerTakes(page: Page, tag: 'chat-widget' | 'agent-console'): Promise<void> {
    const host = page.locator(tag);
    const input = host.locator('.composer textarea');
    const sentence = 'This message is too long to send: 4,001 characters, 4,000 at most.';
    await fieldTakesWhatTheServerTakes(host, { input, button: host.locator('.composer [part="send-button"]'), max: 4_000, sentence, enterSubmits: true });
    expect(await host.locator('li.own').count()).toBe(0);
    await input.press('Enter');
    const line = host.locator('li.own[data-revision]');
    await expectAttribute(line, 'data-delivery', 'stored');
    const stored = (await line.locator('.bubble').textContent()) ?? '';
    expect([[...stored].length, stored.replaceAll('😀', '')]).toEqual([4_000, '']);
  }

  it("lets the customer send 4,000 emoji, as the server counts characters, and says why 4,001 cannot go, keeping them all", () =>
    inOwnBrowser(async (page) => {
      await startChat(page, 'A long message');
      await composerTakesWhatTheServerTakes(page, 'chat-widget');
    }), 60_000);

  it("lets the agent send 4,000 emoji, as the server counts characters, and says why 4,001 cannot go, keeping them all", async () => {
    const subject = 'A long reply';
    await sessionWith(subject, 'Please tell me everything.');
    const { page } = await openPage(browser.context, `${app.url}/agent`);
    await signedIn(page, 'agent-console');
    await takeChat(page, subject);
    await composerTakesWhatTheServerTakes(page, 'agent-console');
    await page.close();
  }, 60_000);

  it('lets the customer start a chat about 200 emoji, as the server counts characters, and says why 201 cannot go, keeping them all', () =>
    inOwnBrowser(async (page) => {
      const widget = page.locator('chat-widget');
      await signedIn(page, 'chat-widget');
      await widget.locator('.launcher').click();
      const input = widget.locator('#subject');
      const sentence = 'This subject is too long to send: 201 characters, 200 at most.';
      await fieldTakesWhatTheServerTakes(widget, { input, button: widget.getByRole('button', { name: 'Start chat' }), max: 200, sentence, enterSubmits: true });
      await input.press('Enter');
      await widget.locator('.composer textarea').waitFor();
      // The subject as the server stored it: the session's opening event.
      await expectText(widget.locator('.header .subject'), '😀'.repeat(200));
    }), 60_000);

  it('takes a rating comment of 2,000 emoji, as the server counts characters, and says why 2,001 cannot go, keeping them all', () =>
    inOwnBrowser(async (page) => {
      const widget = page.locator('chat-widget');
      await startChat(page, 'A long comment');
      await widget.evaluate((element) => {
        const rated: unknown[] = ((window as unknown as { rated: unknown[] }).rated = []);
        element.addEventListener('chat-session-rated', (event) => rated.push((event as CustomEvent<{ comment?: string }>).detail.comment));
      });
      await widget.getByRole('button', { name: 'End chat' }).click();
      await widget.locator('label[for="star-4"]').click();
      const button = widget.getByRole('button', { name: 'Send rating' });
      const sentence = 'This comment is too long to send: 2,001 characters, 2,000 at most.';
      await fieldTakesWhatTheServerTakes(widget, { input: widget.locator('#comment'), button, max: 2_000, sentence, enterSubmits: false });
      await button.click();
      await expectText(widget.locator('.done p'), 'Thank you for your feedback!');
      expect(await page.evaluate(() => (window as unknown as { rated: unknown[] }).rated)).toEqual(['😀'.repeat(2_000)]);
    }), 60_000);

  it("keeps the panel's Minimise button in sight when the subject holds a word longer than the panel is wide (an email address)", async () => {
    // A browser, and so a customer, of its own: a chat of its own.
    const own = await launchBrowser();
    try {
      const { page } = await openPage(own.context, `${app.url}/`);
      const widget = page.locator('chat-widget');
      await startChat(page, 'New email: camille.dupont.reservations@northwindcarrental.example');
      await expectText(widget.locator('.header .subject'), 'New email: camille.dupont.reservations@northwindcarrental.example');
      const panel = (await widget.locator('.panel').boundingBox())!;
      const minimise = (await widget.getByRole('button', { name: 'Minimise chat' }).boundingBox())!;
      expect(minimise.x + minimise.width).toBeLessThanOrEqual(panel.x + panel.width);
      await widget.getByRole('button', { name: 'Minimise chat' }).click();
      await widget.locator('.panel').waitFor({ state: 'detached' });
    } finally {
      await own.close();
    }
  }, 60_000);

  it("shows an emoji whole in the replay's timeline when the summary of a long message is cut at it", async () => {
    const body = `${'a'.repeat(59)}🚗 was scratched on the left rear door when I picked it up`;
    const sessionId = await sessionWith('Emoji in the timeline', body);

    const { page } = await openPage(browser.context, `${app.url}/auditor?session=${sessionId}`);
    await signedIn(page, 'session-replay');
    const summary = page.locator('session-replay .event[data-revision="1"] .type');
    await summary.waitFor();
    const text = (await summary.textContent()) ?? '';
    expect(text.startsWith(`Message sent: “${'a'.repeat(59)}`)).toBe(true);
    expect(text).not.toMatch(LONE_SURROGATE);
    await page.close();
  });

  it("previews a message live in the agent console's inbox as the server does: an emoji whole, the same text after a reload", async () => {
    const { page } = await openPage(browser.context, `${app.url}/agent`);
    await signedIn(page, 'agent-console');
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    const sessionId = randomUUID();
    const preview = page.locator(`agent-console .item[data-session-id="${sessionId}"] .preview`);
    let live = '';
    try {
      expect(await customer.send('/app/chat/open', { sessionId, subject: 'Emoji in the preview' })).toEqual({ ok: true });
      // Listed from /topic/inbox before the message comes: its preview is then the console's own.
      await expectText(page.locator(`agent-console .item[data-session-id="${sessionId}"] .subject`), 'Emoji in the preview');
      // White space runs become one space: the 120th character is the first car, whose second
      // UTF-16 unit is the 121st (and its halves would fall across a cut at 140 units of the raw text).
      const body = `${'b'.repeat(10)} \n\n\t  ${'c'.repeat(108)}🚗🚗 ${'d'.repeat(4)}\n${'e'.repeat(20)}`;
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body })).toEqual({ ok: true });
      await preview.waitFor();
      live = (await preview.textContent()) ?? '';
    } finally {
      await customer.disconnect();
    }
    expect(live).not.toMatch(LONE_SURROGATE);
    expect(live).toBe(`${'b'.repeat(10)} ${'c'.repeat(108)}🚗`);
    const token = await app.token('agent-check', 'agent');
    let stored: string | null = null;
    await waitUntil(async () => (stored = (await app.get<{ lastMessagePreview: string | null }>(`/api/sessions/${sessionId}`, token)).lastMessagePreview) !== null);
    expect(stored).toBe(live);
    await page.reload();
    await signedIn(page, 'agent-console');
    await expectText(preview, live);
    await page.close();
  });

  it("keeps a host page's text styles out of the widget: no capitals, spacing, italics or bold it did not ask for", () =>
    // The chat it starts is not the next test's.
    inOwnBrowser(async (page) => {
      await page.addStyleTag({
        content: 'body { text-transform: uppercase; letter-spacing: 4px; word-spacing: 9px; font-style: italic; font-weight: bold; text-indent: 3em; text-shadow: 1px 1px red; }',
      });
      const widget = page.locator('chat-widget');
      await startChat(page, 'Styles');
      await customerSends(page, 'Plain words');
      // The line of the stored event (it has a revision), not the one shown while sending, which it replaces.
      const line = widget.locator('li.own[data-revision]', { hasText: 'Plain words' });
      await expectAttribute(line, 'data-delivery', 'stored');
      const style = await line.locator('.bubble').evaluate((element) => {
        const { textTransform, letterSpacing, wordSpacing, fontStyle, fontWeight, textIndent, textShadow } = getComputedStyle(element);
        return { textTransform, letterSpacing, wordSpacing, fontStyle, fontWeight, textIndent, textShadow };
      });
      expect(style).toEqual({ textTransform: 'none', letterSpacing: 'normal', wordSpacing: '0px', fontStyle: 'normal', fontWeight: '400', textIndent: '0px', textShadow: 'none' });
    }));

  it('lays out a right-to-left message right to left in the widget: its final "!" at its left end', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Arabic');
    const arabic = 'السيارة جاهزة!'; // "The car is ready!"
    await customerSends(page, arabic);
    // The line of the stored event (it has a revision), not the one shown while sending, which it replaces.
    const bubble = widget.locator('li.own[data-revision] .bubble', { hasText: 'السيارة' });
    await expectAttribute(widget.locator('li.own[data-revision]', { hasText: 'السيارة' }), 'data-delivery', 'stored');

    // Where the first letter (logically) and the final "!" are drawn.
    const [first, bang] = await bubble.evaluate((element) => {
      const text = element.firstChild?.nodeType === Node.TEXT_NODE ? element.firstChild : [...element.childNodes].find((node) => node.nodeType === Node.TEXT_NODE)!;
      const at = (index: number) => {
        const range = document.createRange();
        range.setStart(text, index);
        range.setEnd(text, index + 1);
        return range.getBoundingClientRect().left;
      };
      const content = text.textContent!;
      return [at(content.indexOf('ا')), at(content.lastIndexOf('!'))];
    });
    expect(bang).toBeLessThan(first);
    await page.close();
  });
});
