import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { StompTestClient } from '../stomp-client.js';
import {
  agentSends, axeViolations, bubbles, buildWebComponents, customerSends, deliveries, expectAttribute, expectText, launchBrowser, openPage,
  recordDeliveries, requireChromium, signedIn, startChat, takeChat, TestApp, waitUntil,
} from './harness.js';

/**
 * A customer on the demo page (`/`) and an agent on `/agent`, two pages of a real Chromium,
 * chat through the real server: both ways, with delivery and read states, typing, a refused
 * message, markup shown as text, then close and rating.
 */
describe('customer and agent chatting in two pages', () => {
  let app: TestApp;
  let browser: { context: BrowserContext; close: () => Promise<void> };
  let customer: Page;
  let agent: Page;
  let errors: { customer: string[]; agent: string[] };
  let widget: Locator;
  let console: Locator;
  const subject = 'Flat tyre near Valence';

  beforeAll(async () => {
    requireChromium();
    await buildWebComponents();
    app = await TestApp.start();
    browser = await launchBrowser();
    const customerPage = await openPage(browser.context, `${app.url}/`);
    const agentPage = await openPage(browser.context, `${app.url}/agent`);
    customer = customerPage.page;
    agent = agentPage.page;
    errors = { customer: customerPage.errors, agent: agentPage.errors };
    widget = customer.locator('chat-widget');
    console = agent.locator('agent-console');
    await signedIn(agent, 'agent-console');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('opens a chat from the widget; the agent sees it waiting in the inbox, live, with its unread message', async () => {
    await startChat(customer, subject);
    await recordDeliveries(customer, 'chat-widget');
    await customerSends(customer, 'Hello, my front left tyre is flat.');

    const item = console.locator('.item', { hasText: subject });
    await item.waitFor();
    await expectText(console.locator('#section-waiting'), 'Waiting (1)');
    await expectText(item.locator('.unread'), '1');
    await expectText(item.locator('.preview'), 'Hello, my front left tyre is flat.');
  });

  it('shows the customer\'s message sending, then stored, then read once the agent takes the chat', async () => {
    const line = widget.locator('li.own', { hasText: 'Hello, my front left tyre is flat.' });
    await expectAttribute(line, 'data-delivery', 'stored');
    expect(await line.locator('.delivery').textContent()).toBe('Delivered');

    await takeChat(agent, subject);

    await expectAttribute(line, 'data-delivery', 'read');
    const [states] = Object.values(await deliveries(customer));
    expect(states).toEqual(['sending', 'stored', 'read']);
    await expectText(widget.locator('li.system').last(), 'Ada joined the chat.');
    await expectText(console.locator('#section-active'), 'Active (1)');
  });

  it('carries the agent\'s reply to the widget, announced in its live region, and reads it back', async () => {
    await agent.locator('agent-console .pane .composer textarea').fill('Sorry to hear that! Are you somewhere safe?');
    await expectText(widget.locator('.typing'), 'Ada is typing…');
    await agent.locator('agent-console .pane .composer textarea').press('Enter');

    const reply = widget.locator('li.other', { hasText: 'Are you somewhere safe?' });
    await reply.waitFor();
    expect(await reply.locator('.sender').textContent()).toBe('Ada');
    await expectText(widget.locator('[aria-live]'), 'Ada: Sorry to hear that! Are you somewhere safe?');
    await expectText(widget.locator('.typing'), '');
    // The widget's panel is open: the customer has read it.
    await expectAttribute(console.locator('li.own', { hasText: 'Are you somewhere safe?' }), 'data-delivery', 'read');

    await customerSends(customer, 'Yes, on the hard shoulder of the A7.');
    await console.locator('li.other', { hasText: 'hard shoulder' }).waitFor();
    expect(await bubbles(widget)).toEqual([
      'Hello, my front left tyre is flat.', 'Sorry to hear that! Are you somewhere safe?', 'Yes, on the hard shoulder of the A7.',
    ]);
  });

  it('shows markup in a message as text, on both sides, and never runs it', async () => {
    const markup = '<img src=x onerror="window.pwned=1"><b>bold?</b><script>window.pwned=2</script>';
    await customerSends(customer, markup);

    const received = console.locator('li.other', { hasText: 'bold?' });
    await received.waitFor();
    expect(await received.locator('.bubble').textContent()).toBe(markup);
    expect(await received.locator('.bubble img, .bubble b, .bubble script').count()).toBe(0);
    expect(await widget.locator('li.own .bubble', { hasText: 'bold?' }).textContent()).toBe(markup);
    await agent.waitForTimeout(300);
    expect(await agent.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await customer.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it('sends nothing of a message with nothing to read, as the server would refuse it', async () => {
    // Zero-width spaces: characters, with nothing to see; the server refuses them as blank.
    const input = widget.locator('.composer textarea');
    const settled = () => widget.evaluate(async (element) => void (await (element as unknown as { updateComplete: Promise<boolean> }).updateComplete));
    await input.fill('\u200b\u200b\u200b');
    await settled();
    expect(await widget.locator('.composer [part="send-button"]').isDisabled()).toBe(true);
    await input.press('Enter');
    await settled();
    // Kept in the composer, not sent (a message sent empties it).
    expect(await input.inputValue()).toBe('\u200b\u200b\u200b');
    await input.fill('');
  });

  it('says in a sentence, next to the message, why the server refused it', async () => {
    // Half an emoji (a lone surrogate), which no keyboard types and a script can put in; the server refuses it.
    const before = await bubbles(console);
    await widget.locator('.composer textarea').evaluate((input: HTMLTextAreaElement) => {
      input.value = 'Broken \ud83d';
      input.dispatchEvent(new InputEvent('input', { bubbles: true, composed: true }));
    });
    await widget.locator('.composer textarea').press('Enter');

    const refused = widget.locator('li.own.failed');
    await expectAttribute(refused, 'data-delivery', 'failed');
    await expectText(
      refused.locator('.error-text .reason'),
      'This message cannot be sent: it has nothing to read, a broken character, or more than 4,000 characters.',
    );
    expect(await bubbles(console)).toEqual(before);
  });

  it('passes an axe-core check of the widget and of the console, while chatting', async () => {
    expect(await axeViolations(customer, 'chat-widget')).toEqual([]);
    expect(await axeViolations(agent, 'agent-console')).toEqual([]);
  });

  it('works from the keyboard: Escape closes the panel to its launcher, Enter on the launcher opens it again', async () => {
    await widget.locator('.composer textarea').focus();
    await customer.keyboard.press('Escape');
    await expectAttribute(widget, 'open', null);
    expect(await widget.locator('.launcher').evaluate((button) => button.matches(':focus'))).toBe(true);
    await customer.keyboard.press('Enter');
    await widget.locator('.panel').waitFor();
    expect(await widget.locator('.composer textarea').evaluate((input) => input.matches(':focus'))).toBe(true);
    // The minimise button, gone with the panel, hands the focus to the launcher too.
    await widget.getByRole('button', { name: 'Minimise chat' }).click();
    await expectAttribute(widget, 'open', null);
    await waitUntil(async () => widget.locator('.launcher').evaluate((button) => button.matches(':focus')));
    await widget.locator('.launcher').press('Enter');
    await widget.locator('.panel').waitFor();
  });

  it('lets the agent chat in two sessions at once, in tabs, and hand one back to the queue', async () => {
    const { page: second } = await openPage(browser.context, `${app.url}/`);
    await signedIn(second, 'chat-widget');
    await second.locator('#dev-login [name="name"]').fill('Bruno');
    await second.locator('#dev-login [name="sub"]').fill('customer-bruno');
    await second.locator('#dev-login button[type="submit"]').click();
    await expectText(second.locator('#dev-login .status'), 'Signed in as Bruno (customer-bruno, customer).');
    await startChat(second, 'Toll badge');
    await customerSends(second, 'Is there a toll badge in the car?');

    await agent.evaluate(() => {
      const received: string[] = ((window as unknown as { received: string[] }).received = []);
      document.addEventListener('chat-message-received', (event) => received.push((event as CustomEvent<{ body: string }>).detail.body));
    });
    await takeChat(agent, 'Toll badge');
    expect(await console.getByRole('tab').allTextContents()).toEqual([subject, 'Toll badge']);
    await agentSends(agent, 'Yes, in the glovebox.');
    await second.locator('chat-widget li.other', { hasText: 'glovebox' }).waitFor();
    await customerSends(second, 'Found it, thanks.');
    await console.locator('li.other', { hasText: 'Found it' }).waitFor();
    // Told to the host page: the message written since the tab was opened, not the one listed before.
    expect(await agent.evaluate(() => (window as unknown as { received: string[] }).received)).toEqual(['Found it, thanks.']);

    // Back to the first chat from the keyboard, and answer there.
    await console.getByRole('tab', { name: 'Toll badge' }).focus();
    await agent.keyboard.press('ArrowLeft');
    expect(await console.getByRole('tab', { selected: true }).textContent()).toBe(subject);
    await agentSends(agent, 'Help is on its way to the A7.');
    await widget.locator('li.other', { hasText: 'on its way' }).waitFor();
    expect(await second.locator('chat-widget li.other', { hasText: 'on its way' }).count()).toBe(0);

    await console.getByRole('tab', { name: 'Toll badge' }).click();
    await console.getByRole('button', { name: 'Hand back' }).click();
    await expectText(second.locator('chat-widget li.system').last(), 'Ada left the chat. Another agent will answer.');
    await expectText(console.locator('#section-waiting'), 'Waiting (1)');
    await console.getByRole('button', { name: 'Close tab' }).click();
    expect(await console.getByRole('tab').allTextContents()).toEqual([subject]);
    await waitUntil(async () => console.getByRole('tab', { name: subject }).evaluate((tab) => tab.matches(':focus'))); // not lost with the button
    await second.close();
  });

  it('leaves the agent where they scrolled to in a chat while the console changes, and scrolls down for a new line', async () => {
    await agent.evaluate(() => document.querySelector<HTMLElement>('agent-console')!.style.setProperty('--parley-console-height', '320px'));
    const pane = console.locator('.pane .scroll');
    await waitUntil(async () => pane.evaluate((element) => element.scrollHeight > element.clientHeight));
    await pane.evaluate((element) => element.scrollTo({ top: 0 }));

    // The customer types: the console shows it, and renders the pane again.
    await widget.locator('.composer textarea').fill('One more');
    await expectText(console.locator('.pane .typing'), 'The customer is typing…');
    expect(await pane.evaluate((element) => element.scrollTop)).toBe(0);

    await widget.locator('.composer textarea').press('Enter');
    await console.locator('li.other', { hasText: 'One more' }).waitFor();
    await waitUntil(async () => pane.evaluate((element) => element.scrollTop + element.clientHeight >= element.scrollHeight - 1));
  });

  it('closes the chat from the widget and takes a 1–5 star rating with a comment', async () => {
    await widget.getByRole('button', { name: 'End chat' }).click();
    await expectText(widget.locator('legend'), 'How was your chat?');
    // A star not chosen stands out from the panel enough to be seen (3:1, WCAG 1.4.11).
    expect(contrastOnWhite(await widget.locator('label[for="star-5"]').evaluate((star) => getComputedStyle(star).color))).toBeGreaterThanOrEqual(3);
    await expectText(console.locator('#section-closed'), 'Closed (1)');
    await expectText(console.locator('li.system').last(), 'The customer closed the chat.');

    await widget.locator('label[for="star-4"]').click();
    await widget.locator('#comment').fill('Quick and kind.');
    await widget.getByRole('button', { name: 'Send rating' }).click();

    await expectText(widget.locator('.done p'), 'Thank you for your feedback!');
    const token = await app.token('auditor-1', 'auditor');
    type Sessions = { items: { subject: string; rating: number | null; ratingComment: string | null; status: string }[] };
    const rated = async () => (await app.get<Sessions>('/api/sessions', token)).items.find((session) => session.subject === subject);
    await waitUntil(async () => (await rated())?.rating === 4);
    expect(await rated()).toMatchObject({ status: 'closed', ratingComment: 'Quick and kind.' });
  });

  it('embedded in another site, asks the host page for a token when the server refuses its own (chat-auth-required), and goes on with the next', async () => {
    // A page of another site, embedding the widget with one script tag and the server's address.
    const site = createServer((_, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
      <html lang="en"><title>Another site</title>
      <script>window.reasons = []; document.addEventListener('chat-auth-required', (event) => reasons.push(event.detail.reason));</script>
      <script type="module" src="${app.url}/widget.js"></script>
      <chat-widget server="${app.url}" open></chat-widget></html>`));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const { page, errors: hostErrors } = await openPage(browser.context, `http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    const host = page.locator('chat-widget');
    const reasons = () => page.evaluate(() => (window as unknown as { reasons: string[] }).reasons);
    await waitUntil(async () => (await reasons()).includes('no token'));

    const valid = await app.token('customer-host', 'customer', 'Hana');
    const other = await app.token('someone-else', 'customer');
    const forged = `${valid.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`; // Hana's claims, another's signature
    await host.evaluate((element, token) => ((element as HTMLElement & { token: string }).token = token), forged);

    await waitUntil(async () => (await reasons()).includes('the token signature does not verify'), async () => JSON.stringify(await reasons()));
    await expectText(host.locator('.status'), 'Your sign-in has expired or was refused; waiting for a new one.');

    await host.evaluate((element, token) => ((element as HTMLElement & { token: string }).token = token), valid);
    await waitUntil(async () => (await host.locator('.status').count()) === 0);
    await startChat(page, 'Wrong mileage on my invoice');
    await customerSends(page, 'Hi!');
    await expectAttribute(host.locator('li.own', { hasText: 'Hi!' }), 'data-delivery', 'stored');

    // Back on the site with nothing stored in the browser (another device, say): the widget
    // finds the open chat through the HTTP API, a cross-origin call.
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    site.close();
    await host.evaluate((element, token) => ((element as HTMLElement & { token: string }).token = token), valid);
    await waitUntil(async () => (await bubbles(host)).join('|') === 'Hi!', async () => JSON.stringify(await bubbles(host)));
    expect(hostErrors).toEqual([]);
  });

  // A 5-minute token (an identity provider's default) on a computer whose clock is 4½ minutes fast
  // looks, to the widget, like one that expires in 30 s: here the page's clock is as far ahead of
  // the 12-hour dev tokens. Each new token then seems to expire within the minute as well, and the
  // widget, asking at once for the next one, reconnects with each.
  it("renews a token near the end of its life as its issuer counts it, not at once and again at each new one, when the page's clock runs ahead", async () => {
    const site = createServer((_, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
      <html lang="en"><title>Another site</title>
      <script>
        window.asked = [];
        document.addEventListener('chat-auth-required', async (event) => {
          asked.push(event.detail.reason);
          if (event.detail.reason !== 'no token') event.target.token = await freshToken(); // as a host page renews it
        });
      </script>
      <script type="module" src="${app.url}/widget.js"></script>
      <chat-widget server="${app.url}" open></chat-widget></html>`));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const page = await browser.context.newPage();
    try {
      let renewals = 0; // each token of its own, as an identity provider's are (its own name here)
      await page.exposeFunction('freshToken', () => app.token('customer-clock-ahead', 'customer', `Clock ${(renewals += 1)}`));
      await page.addInitScript(() => {
        const now = Date.now.bind(Date);
        Date.now = () => now() + 12 * 3_600_000 - 30_000;
      });
      await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      const host = page.locator('chat-widget');
      await host.evaluate(async (element) => ((element as HTMLElement & { token: string }).token = await (window as unknown as { freshToken: () => Promise<string> }).freshToken()));
      const asked = () => page.evaluate(() => (window as unknown as { asked: string[] }).asked.filter((reason) => reason !== 'no token'));
      await startChat(page, 'Clock ahead');
      await customerSends(page, 'Hello');
      const line = host.locator('li.own', { hasText: 'Hello' });
      await waitUntil(async () => (await line.getAttribute('data-delivery')) === 'stored' || (await asked()).length >= 5);
      expect(await asked()).toEqual([]);
    } finally {
      await page.close(); // its host page renewing tokens no more
      site.close();
    }
  });

  it("sends its heart-beats from a worker, unthrottled in a hidden tab; from the page's own timers where the host page forbids workers", async () => {
    /** Records the URL of every worker the page tries to start (`window.workers`), and every CSP violation. */
    const recordWorkers = () => {
      const workers: string[] = [];
      const violations: string[] = [];
      Object.assign(window, { workers, violations });
      document.addEventListener('securitypolicyviolation', (event) => violations.push(event.effectiveDirective));
      window.Worker = class extends window.Worker {
        constructor(url: string | URL, options?: WorkerOptions) {
          workers.push(String(url));
          super(url, options);
        }
      };
    };
    const recorded = (page: Page) => page.evaluate(() => {
      const { workers, violations } = window as unknown as { workers: string[]; violations: string[] };
      return { workers, violations };
    });
    const sites = [
      { customer: 'customer-ticker-1', csp: undefined, workers: 2, violations: [] }, // the probe, then stompjs's ticker
      { customer: 'customer-ticker-2', csp: "worker-src 'none'", workers: 1, violations: ['worker-src'] }, // the probe, refused
    ];
    for (const expected of sites) {
      const token = await app.token(expected.customer, 'customer');
      const site = createServer((_, response) => response.writeHead(200, {
        'content-type': 'text/html', ...(expected.csp ? { 'content-security-policy': expected.csp } : {}),
      }).end(`<!doctype html>
        <html lang="en"><title>Another site</title>
        <script type="module" src="${app.url}/widget.js"></script>
        <chat-widget server="${app.url}" token="${token}" open></chat-widget></html>`));
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      try {
        const page = await browser.context.newPage();
        await page.addInitScript(recordWorkers);
        await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
        const host = page.locator('chat-widget');
        await startChat(page, `Heart-beats ${expected.csp ?? 'from a worker'}`);
        await customerSends(page, 'Hello');
        await expectAttribute(host.locator('li.own', { hasText: 'Hello' }), 'data-delivery', 'stored');
        const { workers, violations } = await recorded(page);
        expect(workers).toHaveLength(expected.workers);
        expect(workers.every((url) => url.startsWith('blob:'))).toBe(true);
        expect(violations).toEqual(expected.violations);
        await page.close();
      } finally {
        site.close();
      }
    }
  });

  it("counts unread messages in another agent's chat as the server does, once that agent has read them", async () => {
    const stomp = app.url.replace(/^http/, 'ws') + '/stomp';
    const customerOf = await StompTestClient.connect(stomp, await app.token(`customer-${randomUUID()}`, 'customer'));
    const otherAgent = await StompTestClient.connect(stomp, await app.token(`agent-${randomUUID()}`, 'agent'));
    try {
      const sessionId = randomUUID();
      expect(await customerOf.send('/app/chat/open', { sessionId, subject: 'Scratch on the door' })).toEqual({ ok: true });
      const messageIds = [randomUUID(), randomUUID()];
      for (const [i, messageId] of messageIds.entries()) {
        expect(await customerOf.send(`/app/chat/${sessionId}/messages`, { messageId, body: `Photo ${i + 1}` })).toEqual({ ok: true });
      }
      const item = console.locator('.item', { hasText: 'Scratch on the door' });
      await expectText(item.locator('.unread'), '2');

      // Another agent takes the chat and reads both; this console is not told of the reading.
      expect(await otherAgent.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
      expect(await otherAgent.send(`/app/chat/${sessionId}/read`, { upToMessageId: messageIds[1] })).toEqual({ ok: true });
      expect(await customerOf.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'And one more' })).toEqual({ ok: true });
      await expectText(item.locator('.preview'), 'And one more');
      await expectText(item.locator('.unread'), '1');
    } finally {
      await customerOf.disconnect();
      await otherAgent.disconnect();
    }
  });

  it('had no script errors on either page', () => {
    expect(errors).toEqual({ customer: [], agent: [] });
  });
});

/** The contrast ratio of a CSS `rgb(r, g, b)` colour on white (WCAG 2's relative luminance). */
function contrastOnWhite(color: string): number {
  const [r, g, b] = (color.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((channel) => {
    const value = Number(channel) / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  });
  return 1.05 / (0.2126 * r! + 0.7152 * g! + 0.0722 * b! + 0.05);
}
