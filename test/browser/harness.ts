import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { createTestDatabase } from '../database.js';
import { freePort } from '../global-setup.js';
import { type NodeProcess, ROOT, runNode, SERVER, startNode, waitFor } from '../processes.js';

/**
 * What the browser specs share: the real app (`node dist/src/main.js` on a fresh test database,
 * as a user runs it, restartable on the same port), the web components built from source, and
 * Debian's Chromium driven by playwright-core.
 */

export const CHROMIUM = '/usr/bin/chromium';
/** Without the networking flags Chromium tries to reach hosts it cannot (STACK.md). */
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** @throws when Chromium is not installed: the browser specs fail, never skip. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; the browser tests need it. Install it with: apt-get install -y chromium`);
  }
}

/** Builds `dist/web/` from `web-components/` (the bundle and the pages the server serves). */
export async function buildWebComponents(): Promise<void> {
  const build = await runNode(join(ROOT, 'web-components', 'build.mjs'), [], {}, ROOT, 60_000);
  if (build.code !== 0) throw new Error(`web-components/build.mjs failed:\n${build.output}`);
}

/** The app of one spec file: its own database and data folder, on one port across restarts. */
export class TestApp {
  #server: NodeProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly settings: Record<string, string>,
    private readonly dataDir: string,
    private readonly dropDatabase: () => Promise<void>,
  ) {}

  static async start(): Promise<TestApp> {
    const database = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-browser-'));
    await chmod(dataDir, 0o755);
    const port = await freePort();
    // DATA_DIR keeps the generated JWT secret: tokens stay valid across a restart.
    const settings = { DATABASE_URL: database.url, PORT: String(port), DATA_DIR: dataDir, DEV_TOKENS: '1', LOG_LEVEL: 'warn' };
    const app = new TestApp(port, settings, dataDir, database.drop);
    try {
      await app.resume();
    } catch (error) {
      await app.close(); // the caller never gets it to close
      throw error;
    }
    return app;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The app's database (to tamper with, say). */
  get databaseUrl(): string {
    return this.settings.DATABASE_URL!;
  }

  /** Starts the server (again) and waits until it is ready and serves the demo page. */
  async resume(): Promise<void> {
    const server = startNode(SERVER, [], this.settings, this.dataDir);
    this.#server = server;
    let exited = false;
    void server.exited.then(() => (exited = true));
    await waitFor(`the server on port ${this.port} to be ready`, async () => {
      if (exited) throw new Error(`the server exited before it was ready; its output:\n${server.output()}`);
      const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      return response?.status === 200;
    }, 45_000);
    const page = await fetch(`${this.url}/`);
    if (page.status !== 200) {
      throw new Error(`GET / answered ${page.status}: the WebController (src/http/web.controller.ts) is not in AppModule's controllers`);
    }
  }

  /** Stops the server (SIGKILL: a crash) and waits for its exit. */
  async kill(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.child.kill('SIGKILL');
    await server.exited;
  }

  output(): string {
    return this.#server?.output() ?? '';
  }

  async close(): Promise<void> {
    await this.kill();
    await this.dropDatabase().catch(() => {});
    await rm(this.dataDir, { recursive: true, force: true });
  }

  async token(sub: string, role: 'customer' | 'agent' | 'auditor', name?: string): Promise<string> {
    const response = await fetch(`${this.url}/api/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub, role, ...(name ? { name } : {}) }),
    });
    if (!response.ok) throw new Error(`POST /api/dev/token: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  }

  /** A token signed as the app signs its dev tokens (with the secret it keeps in its data folder), valid `lifetimeS` seconds from now. */
  async shortLivedToken(sub: string, role: 'customer' | 'agent' | 'auditor', lifetimeS: number): Promise<string> {
    const secret = (await readFile(join(this.dataDir, 'jwt-secret'), 'utf8')).trim();
    return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt()
      .setExpirationTime(`${lifetimeS}s`).sign(new TextEncoder().encode(secret));
  }

  async get<T>(path: string, token: string): Promise<T> {
    const response = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }
}

/** A Chromium of its own profile (a temporary folder, removed by `close`), with `flags` added to its own. */
export async function launchBrowser(flags: readonly string[] = []): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  requireChromium();
  const profile = await mkdtemp(join(tmpdir(), 'parley-chromium-'));
  const args = [...CHROMIUM_FLAGS, ...flags];
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args, headless: true });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A page whose script errors are collected (a spec expects none). */
export async function openPage(context: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return { page, errors };
}

/** Waits until the demo page's sign-in handed its element a token. */
export async function signedIn(page: Page, element: string): Promise<void> {
  await page.waitForFunction((tag) => Boolean((document.querySelector(tag) as HTMLElement & { token?: string } | null)?.token), element);
}

/** The axe-core violations of one element, its shadow tree included. */
export async function axeViolations(page: Page, selector: string): Promise<{ id: string; help: string; nodes: string[] }[]> {
  const source = await readFile(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.addScriptTag({ content: source });
  return page.evaluate(async (include) => {
    const axe = (window as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: { id: string; help: string; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run({ include: [include] }, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({ id: violation.id, help: violation.help, nodes: violation.nodes.map((node) => JSON.stringify(node.target)) }));
  }, selector);
}

/** The texts of the bubbles of a transcript (own and others'), in order. */
export function bubbles(root: Locator): Promise<string[]> {
  return root.locator('li.line:not(.system) .bubble').allTextContents();
}

/**
 * Records, in the page, every delivery state each own message of `host` goes through (a
 * MutationObserver sees each render, however briefly a state lasts).
 */
export async function recordDeliveries(page: Page, host: string): Promise<void> {
  await page.evaluate((tag) => {
    const root = document.querySelector(tag)!.shadowRoot!;
    const seen: Record<string, string[]> = {};
    (window as unknown as { deliveries: Record<string, string[]> }).deliveries = seen;
    const record = () => {
      for (const line of root.querySelectorAll<HTMLElement>('[data-delivery]')) {
        const id = line.dataset.messageId!;
        const states = (seen[id] ??= []);
        if (states.at(-1) !== line.dataset.delivery) states.push(line.dataset.delivery!);
      }
    };
    new MutationObserver(record).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-delivery'] });
    record();
  }, host);
}

/** The delivery states recorded by {@link recordDeliveries}, by message id. */
export function deliveries(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate(() => (window as unknown as { deliveries: Record<string, string[]> }).deliveries);
}

/** The customer's widget on the demo page: opens the panel and starts a chat about `subject`. */
export async function startChat(page: Page, subject: string): Promise<void> {
  const widget = page.locator('chat-widget');
  await signedIn(page, 'chat-widget');
  if ((await widget.getAttribute('open')) === null) await widget.locator('.launcher').click();
  await widget.locator('#subject').fill(subject);
  await widget.locator('#subject').press('Enter');
  await widget.locator('.composer textarea').waitFor();
}

/** Types `text` in the widget's composer and sends it with Enter. */
export async function customerSends(page: Page, text: string): Promise<void> {
  const input = page.locator('chat-widget .composer textarea');
  await input.fill(text);
  await input.press('Enter');
}

/** The agent console: opens the session titled `subject` from the inbox, and takes it. */
export async function takeChat(page: Page, subject: string): Promise<void> {
  const console = page.locator('agent-console');
  await console.locator('.item', { hasText: subject }).click();
  await console.getByRole('button', { name: 'Take chat' }).click();
  await console.locator('.pane .composer textarea').waitFor();
}

export async function agentSends(page: Page, text: string): Promise<void> {
  const input = page.locator('agent-console .pane .composer textarea');
  await input.fill(text);
  await input.press('Enter');
}

/** Whether the focus is on an element of `locator`'s shadow tree inside it (or on it). */
export function holdsFocus(locator: Locator): Promise<boolean> {
  return locator.evaluate((element) => {
    const active = (element.getRootNode() as ShadowRoot).activeElement;
    return active !== null && element.contains(active);
  });
}

/** Where the focus is, for a failure's account: the deepest focused element's tag and text. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    let active = document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    return `${active?.tagName ?? 'nothing'} "${(active?.textContent ?? '').trim().slice(0, 40)}"`;
  });
}

/** Waits until the element's text, white space collapsed, is `text` (or starts with it). */
export async function expectText(locator: Locator, text: string, options: { startsWith?: boolean } = {}): Promise<void> {
  const textOf = async () => ((await locator.first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
  await waitUntil(
    async () => (options.startsWith ? (await textOf()).startsWith(text) : (await textOf()) === text),
    async () => `text is "${await textOf().catch(() => '(no element)')}", expected "${text}"`,
  );
}

/** Waits until the attribute has `value` (null: absent). */
export async function expectAttribute(locator: Locator, name: string, value: string | null): Promise<void> {
  await waitUntil(async () => (await locator.getAttribute(name)) === value, () => locator.getAttribute(name).then((v) => `${name} is ${v}, expected ${value}`));
}

/** Polls `probe` until true. @throws after `timeoutMs`, with `explain`'s account. */
export async function waitUntil(probe: () => Promise<boolean>, explain?: () => Promise<string>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out: ${explain ? await explain() : 'condition not met'}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
