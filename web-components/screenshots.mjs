#!/usr/bin/env node
/**
 * Writes PNGs of the three components to `docs/screenshots/`: starts the real app (built:
 * `npm run build` first) on a throw-away embedded PostgreSQL, plays a short conversation in
 * Debian's Chromium (a customer on `/`, an agent on `/agent`), then opens `/auditor`.
 *
 *   node web-components/screenshots.mjs
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startServer(dataDir) {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()), DEV_TOKENS: '1', LOG_LEVEL: 'warn' };
  for (const name of ['DATABASE_URL', 'EVENTSTORE_CONNECTION_STRING', 'EVENT_STORE', 'JWT_SECRET', 'JWT_JWKS_URL', 'NODE_OPTIONS']) delete env[name];
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], { cwd: dirname(dataDir), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited:\n${output}`);
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the server was not ready within 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const home = await fetch(`${url}/`);
  if (home.status !== 200) throw new Error(`GET / answered ${home.status}: is WebController in AppModule's controllers, and was npm run build run?`);
  return { url, stop: async () => { child.kill('SIGINT'); await exited; } };
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}. Install it with: apt-get install -y chromium`);
  if (!existsSync(join(ROOT, 'dist', 'web', 'widget.js'))) throw new Error('dist/web/widget.js is missing: run npm run build first');
  const work = await mkdtemp(join(tmpdir(), 'parley-screenshots-'));
  await chmod(work, 0o755); // as root, the embedded PostgreSQL runs as another user, who must reach it
  const server = await startServer(join(work, 'data'));
  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM, args: FLAGS, headless: true, viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1,
  });
  try {
    await mkdir(OUT, { recursive: true });
    const customer = await context.newPage();
    await customer.goto(`${server.url}/`);
    await customer.waitForFunction(() => Boolean(document.querySelector('chat-widget')?.token));
    const widget = customer.locator('chat-widget');
    await widget.locator('.launcher').click();
    await widget.locator('#subject').fill('Pick-up time on Saturday');
    await widget.locator('#subject').press('Enter');
    const say = async (page, selector, text) => {
      await page.locator(selector).fill(text);
      await page.locator(selector).press('Enter');
    };
    await say(customer, 'chat-widget .composer textarea', 'Hello! Could I pick the car up at 8:00 instead of 9:00?');

    const agent = await context.newPage();
    await agent.goto(`${server.url}/agent`);
    await agent.waitForFunction(() => Boolean(document.querySelector('agent-console')?.token));
    const console_ = agent.locator('agent-console');
    await console_.locator('.item', { hasText: 'Pick-up time' }).click();
    await console_.getByRole('button', { name: 'Take chat' }).click();
    await say(agent, 'agent-console .pane textarea', 'Good morning Camille! Let me check the Lyon Part-Dieu desk opening hours.');
    await say(agent, 'agent-console .pane textarea', 'Yes: the desk opens at 7:30. I have moved your pick-up to 8:00.');
    await widget.locator('li.other', { hasText: 'moved your pick-up' }).waitFor();
    await say(customer, 'chat-widget .composer textarea', 'Perfect, thank you!');
    await console_.locator('li.other', { hasText: 'Perfect' }).waitFor();
    await agent.locator('agent-console .pane textarea').fill('You are welcome');
    await widget.locator('.typing', { hasText: 'typing' }).waitFor();
    await customer.waitForTimeout(300);

    await customer.screenshot({ path: join(OUT, 'chat-widget.png') });
    await console_.screenshot({ path: join(OUT, 'agent-console.png') });

    await widget.getByRole('button', { name: 'End chat' }).click();
    await widget.locator('label[for="star-5"]').click();
    await widget.locator('#comment').fill('Fast and friendly.');
    await widget.getByRole('button', { name: 'Send rating' }).click();
    await widget.locator('.done').waitFor();
    await customer.screenshot({ path: join(OUT, 'chat-widget-rated.png') });

    const auditor = await context.newPage();
    await auditor.goto(`${server.url}/auditor`);
    const replay = auditor.locator('session-replay');
    await replay.locator('.verdict.ok').waitFor({ timeout: 15_000 });
    const last = Number(await replay.locator('#scrubber').getAttribute('max'));
    await replay.locator('#scrubber').fill(String(Math.max(0, last - 4)));
    await auditor.waitForTimeout(200);
    await replay.screenshot({ path: join(OUT, 'session-replay.png') });
    console.log(`screenshots: chat-widget.png, chat-widget-rated.png, agent-console.png, session-replay.png in ${OUT}`);
  } finally {
    await context.close();
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`screenshots: ${error.message}`);
  process.exitCode = 1;
});
