import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { stopOnInterrupt } from './interrupt.js';
import { type BenchServer, startBenchServer } from './server-process.js';
import { quantile } from './stats.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // The host page is served by the route below, which Chromium takes for a public site: let it reach the local server.
  '--disable-features=LocalNetworkAccessChecks',
];

/**
 * How fast `<chat-widget>` opens, in Debian's Chromium against a real server: from the click
 * on the launcher to a usable composer (the panel's first field focused and enabled, and the
 * frame after painted), timed inside the page with `performance.now()`. Two cases, each on a
 * freshly loaded page: a first visit (the subject prompt), and a returning customer whose open
 * session is resumed after a reload (the message box, with the transcript shown). Also the
 * time from navigation to a usable launcher.
 */
export async function widgetBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { runs: { type: 'string', default: '20' }, messages: { type: 'string', default: '30' } } });
  const [runs, messages] = [Number(values.runs), Number(values.messages)];
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}. Install it with: apt-get install -y chromium`);
  const server = await startBenchServer();
  const profile = await mkdtemp(join(tmpdir(), 'parley-bench-widget-'));
  const removeProfile = stopOnInterrupt(() => rm(profile, { recursive: true, force: true }));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
    try {
      await measure(context, server, runs, messages);
    } finally {
      await context.close();
    }
  } finally {
    await removeProfile();
    await server.stop();
  }
}

async function measure(context: BrowserContext, server: BenchServer, runs: number, messages: number): Promise<void> {
  const embed = 'http://www.rental-site.example/'; // another site, as the widget's hosts are
  await serveEmbeddingPage(context, embed, server.url);
  const launcher: number[] = [];
  const firstOpen: number[] = [];
  for (let run = 0; run < runs; run++) {
    const page = await openEmbedded(context, embed, await customerToken(server));
    launcher.push(await page.evaluate(() => performance.now()));
    firstOpen.push((await timeOpen(page, '#subject', 0))[0]);
    await page.close();
  }
  const returning = await customerToken(server);
  const setup = await openEmbedded(context, embed, returning);
  await startSession(setup, messages);
  await setup.close();
  const resumedOpen: number[] = [];
  const resumedTranscript: number[] = [];
  for (let run = 0; run < runs; run++) {
    const page = await openEmbedded(context, embed, returning);
    const [composer, transcript] = await timeOpen(page, 'textarea', messages);
    resumedOpen.push(composer);
    resumedTranscript.push(transcript);
    await page.close();
  }
  console.log(`<chat-widget> on another site's page in Chromium, ${runs} fresh page loads each:`);
  console.log(`navigation to a usable launcher:             ${summary(launcher)}`);
  console.log(`first visit, click to the subject prompt:    ${summary(firstOpen)}`);
  console.log(`open chat resumed, click to the composer:    ${summary(resumedOpen)}`);
  console.log(`open chat resumed, click to its ${messages} messages: ${summary(resumedTranscript)}`);
}

/** A host page as a customer's site would have it: one script tag and one element. */
async function serveEmbeddingPage(context: BrowserContext, url: string, server: string): Promise<void> {
  await context.route(url, (route) => route.fulfill({
    contentType: 'text/html; charset=utf-8',
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host page</title>
      <script type="module" src="${server}/widget.js"></script></head>
      <body><h1>A rental page</h1><chat-widget server="${server}"></chat-widget></body></html>`,
  }));
}

/** Loads the host page and hands the widget its token; resolves once its launcher is rendered. */
async function openEmbedded(context: BrowserContext, url: string, token: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.evaluate(async (jwt) => {
    await customElements.whenDefined('chat-widget');
    const widget = document.querySelector('chat-widget') as HTMLElement & { token: string; updateComplete: Promise<boolean> };
    widget.token = jwt;
    await widget.updateComplete;
  }, token);
  return page;
}

/**
 * Clicks the launcher. The milliseconds until `field` in the panel has the focus, is enabled
 * and painted; and until `lines` messages are shown, and painted.
 */
function timeOpen(page: Page, field: string, lines: number): Promise<[number, number]> {
  return page.evaluate(async ([selector, count]) => {
    const root = document.querySelector('chat-widget')!.shadowRoot!;
    const painted = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const until = (done: () => boolean) => new Promise<void>((resolve) => {
      const check = () => (done() ? resolve() : requestAnimationFrame(check));
      check();
    });
    const start = performance.now();
    root.querySelector<HTMLButtonElement>('.launcher')!.click();
    await until(() => {
      const focused = root.activeElement as HTMLInputElement | null;
      return Boolean(focused?.matches(selector) && !focused.disabled);
    });
    await painted();
    const usable = performance.now() - start;
    await until(() => root.querySelectorAll('li.line:not(.system)').length >= count);
    await painted();
    return [usable, performance.now() - start] as [number, number];
  }, [field, lines] as const);
}

/** Starts a chat through the widget and sends `count` messages, each stored before the next. */
async function startSession(page: Page, count: number): Promise<void> {
  const widget = page.locator('chat-widget');
  await widget.locator('.launcher').click();
  await widget.locator('#subject').fill('Returning customer');
  await widget.locator('#subject').press('Enter');
  for (let i = 1; i <= count; i++) {
    await widget.locator('textarea').fill(`message ${i}`);
    await widget.locator('textarea').press('Enter');
  }
  await page.waitForFunction(() => document.querySelector('chat-widget')!.shadowRoot!.querySelectorAll('[data-delivery="sending"]').length === 0);
}

function customerToken(server: BenchServer): Promise<string> {
  return server.token(`bench-customer-${randomUUID()}`, 'customer', 'Bench');
}

function summary(samples: readonly number[]): string {
  const at = (q: number) => quantile(samples, q).toFixed(1);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`;
}
