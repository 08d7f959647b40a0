import { randomUUID } from 'node:crypto';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import {
  buildWebComponents, customerSends, expectText, focused, holdsFocus, launchBrowser, openPage, requireChromium, signedIn, startChat, TestApp, waitUntil,
} from './harness.js';

/**
 * Both sides used from the keyboard alone: a button pressed with Enter that goes away with what it
 * did (Take chat, Hand back, Close chat, End chat) leaves the focus where the next step is, not on
 * the page's body, from where Tab starts over at the top of the page.
 */
describe('the components from the keyboard, when the button pressed goes away', () => {
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

  /** A chat waiting for an agent, opened by a customer of its own; `use` runs while it is connected. */
  async function withWaitingChat(subject: string, use: () => Promise<void>): Promise<void> {
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    try {
      const sessionId = randomUUID();
      expect(await customer.send('/app/chat/open', { sessionId, subject })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'Hello?' })).toEqual({ ok: true });
      await use();
    } finally {
      await customer.disconnect();
    }
  }

  /** The agent console in a page of its own, the chat `subject` open in a tab. */
  async function consoleOn(subject: string): Promise<{ page: Page; console: Locator }> {
    const { page } = await openPage(browser.context, `${app.url}/agent`);
    await signedIn(page, 'agent-console');
    const console = page.locator('agent-console');
    await console.locator('.item', { hasText: subject }).click();
    return { page, console };
  }

  it('puts the agent in the reply box after Take chat, as the console means to', async () => {
    await withWaitingChat('Taken from the keyboard', async () => {
      const { page, console } = await consoleOn('Taken from the keyboard');
      await console.getByRole('button', { name: 'Take chat' }).press('Enter');
      const reply = console.locator('.pane .composer textarea');
      await reply.waitFor();
      await waitUntil(() => holdsFocus(reply), async () => `the focus is on ${await focused(page)}`);
      await page.close();
    });
  }, 60_000);

  it('puts the agent on the chat\'s tab after Hand back and after Close chat, each pressed with Enter', async () => {
    await withWaitingChat('Handed back from the keyboard', async () => {
      const { page, console } = await consoleOn('Handed back from the keyboard');
      await console.getByRole('button', { name: 'Take chat' }).click();
      await console.locator('.pane .composer textarea').waitFor();

      await console.getByRole('button', { name: 'Hand back' }).press('Enter');
      await expectText(console.locator('.pane .note'), 'Take the chat to answer.');
      await waitUntil(() => holdsFocus(console.getByRole('tab', { selected: true })), async () => `after Hand back, the focus is on ${await focused(page)}`);

      await console.getByRole('button', { name: 'Take chat' }).click();
      await console.getByRole('button', { name: 'Close chat' }).press('Enter');
      await expectText(console.locator('.pane .note'), 'This chat is closed.');
      await waitUntil(() => holdsFocus(console.getByRole('tab', { selected: true })), async () => `after Close chat, the focus is on ${await focused(page)}`);
      await page.close();
    });
  }, 60_000);

  it('takes the customer to the rating after End chat pressed with Enter', async () => {
    const { page } = await openPage(browser.context, `${app.url}/`);
    const widget = page.locator('chat-widget');
    await startChat(page, 'Ended from the keyboard');
    await customerSends(page, 'Never mind, found it.');
    await widget.getByRole('button', { name: 'End chat' }).press('Enter');
    await expectText(widget.locator('legend'), 'How was your chat?');
    await waitUntil(() => holdsFocus(widget.locator('form.rating')), async () => `the focus is on ${await focused(page)}`);
    await page.close();
  }, 60_000);

  it("rates nothing with what the customer goes on typing when the agent closes the chat under it", async () => {
    // A browser, and so a customer, of its own: the chat ended before is not this one.
    const own = await launchBrowser();
    try {
      const { page } = await openPage(own.context, `${app.url}/`);
      const widget = page.locator('chat-widget');
      await startChat(page, 'Closed while typing');
      await customerSends(page, 'Can I return the car in Lyon?');
      const { page: agentPage, console } = await consoleOn('Closed while typing');
      await console.getByRole('button', { name: 'Take chat' }).click();
      await console.locator('.pane .composer textarea').waitFor();

      await widget.locator('.composer textarea').focus();
      await console.getByRole('button', { name: 'Close chat' }).click();
      await expectText(widget.locator('legend'), 'How was your chat?');
      await page.keyboard.type(' ok, thanks');
      await page.keyboard.press('Enter');
      expect(await widget.locator('form.rating input:checked').count()).toBe(0);
      await expectText(widget.locator('legend'), 'How was your chat?');
      await agentPage.close();
    } finally {
      await own.close();
    }
  }, 60_000);

  it("closes no tab with what the agent goes on typing when the customer closes the chat under it", async () => {
    const customer = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    try {
      const sessionId = randomUUID();
      expect(await customer.send('/app/chat/open', { sessionId, subject: 'Closed under the agent' })).toEqual({ ok: true });
      const { page, console } = await consoleOn('Closed under the agent');
      await console.getByRole('button', { name: 'Take chat' }).click();
      await console.locator('.pane .composer textarea').focus();

      expect(await customer.send(`/app/chat/${sessionId}/close`, {})).toEqual({ ok: true });
      await expectText(console.locator('.pane .note'), 'This chat is closed.');
      await page.keyboard.type('Sure, bye');
      expect(await console.getByRole('tab').allTextContents()).toEqual(['Closed under the agent']);
      await page.close();
    } finally {
      await customer.disconnect();
    }
  }, 60_000);
});
