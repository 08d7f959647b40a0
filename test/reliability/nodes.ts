/**
 * Server processes of the reliability scenarios (`node dist/src/main.js`, as deployed) that a
 * scenario starts, SIGKILLs and restarts on the same port, and a progress log a user can read.
 */
import { join } from 'node:path';
import { freePort } from '../global-setup.js';
import { type NodeProcess, SERVER, startNode, waitFor } from '../processes.js';
import { TEST_JWT_SECRET } from '../stomp-app.js';

/** Prints a line of a scenario's account, straight to the terminal (jest's console adds a stack). */
export function say(line: string): void {
  process.stdout.write(`  [reliability] ${line}\n`);
}

/** 1240 → "1,240" */
export const count = (n: number) => n.toLocaleString('en-US');

/** Every server process started and not yet reaped: each scenario stops its own in `afterAll`. */
const live = new Set<NodeProcess>();

/** What `/health/ready` answered, or why it did not. */
export interface Readiness {
  readonly status: number | 'unreachable' | 'timeout';
  readonly body: any;
  readonly ms: number;
}

/** One app node: a server process on a fixed port, over a given database, restartable. */
export class AppNode {
  #server: NodeProcess | undefined;
  starts = 0;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly settings: Record<string, string>,
    private readonly cwd: string,
  ) {}

  /** A node on a free port (not started): `databaseUrl` is its DATABASE_URL. */
  static async create(name: string, databaseUrl: string, cwd: string, env: Record<string, string> = {}): Promise<AppNode> {
    const port = await freePort();
    const settings = { DATABASE_URL: databaseUrl, PORT: String(port), JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: join(cwd, name), LOG_LEVEL: 'warn', ...env };
    return new AppNode(name, port, settings, cwd);
  }

  get stompUrl(): string {
    return `ws://127.0.0.1:${this.port}/stomp`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Starts the process and waits for `/health/ready` to answer 200. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.#server) throw new Error(`node ${this.name} is running already`);
    const server = startNode(SERVER, [], this.settings, this.cwd);
    this.#server = server;
    this.starts += 1;
    live.add(server);
    void server.exited.then(() => live.delete(server));
    let exited = false;
    void server.exited.then(() => (exited = true));
    await waitFor(`node ${this.name} to be ready on port ${this.port}`, async () => {
      if (exited) throw new Error(`node ${this.name} exited while starting; its output:\n${server.output()}`);
      return (await this.readiness()).status === 200;
    }, timeoutMs);
  }

  /** Sends `signal` and waits for the process to be gone (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 15_000): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.child.kill(signal);
    const timer = setTimeout(() => server.child.kill('SIGKILL'), timeoutMs);
    await server.exited;
    clearTimeout(timer);
  }

  /** `SIGKILL`: the process dies at once, whatever it was doing. */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  /** The output of the running (or last) process. */
  output(): string {
    return this.#server?.output() ?? '';
  }

  /** `GET /health/ready`, given at most `timeoutMs` to answer. */
  async readiness(timeoutMs = 5_000): Promise<Readiness> {
    const started = Date.now();
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await response.text();
      return { status: response.status, body: parseJson(text), ms: Date.now() - started };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      return { status: timedOut ? 'timeout' : 'unreachable', body: undefined, ms: Date.now() - started };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Every server process this test process started that is still running (none, after a clean scenario). */
export function serversLeft(): number {
  return live.size;
}
