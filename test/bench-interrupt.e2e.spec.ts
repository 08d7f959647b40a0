import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type NodeProcess, ROOT, exitWithin, postgresProcessesUnder, postgresReachableFolder, startNode, stopPostgresUnder, waitFor } from './processes.js';

const BENCH = join(ROOT, 'dist', 'bench', 'main.js');

/**
 * A benchmark interrupted as a user does it, in the middle of its load: it stops the server it
 * started and its embedded PostgreSQL (a daemon of its own, which a Ctrl-C in the terminal does
 * not reach), removes their folders, and exits as the signal would have ended it. One whose
 * server dies under it cleans up as well. The server runs in a session of its own too, and stops
 * when the benchmark is gone, even one killed outright.
 */
describe('npm run bench, interrupted or failing', () => {
  let root: string;
  let bench: NodeProcess | undefined;

  beforeEach(async () => {
    root = await postgresReachableFolder('parley-bench-e2e-');
  });
  /** `stomp`, two pairs for ten minutes; its temporary folders go under `root` (os.tmpdir() follows TMPDIR). */
  function startUnderLoad(): NodeProcess {
    return startNode(BENCH, ['stomp', '--pairs', '2', '--rate', '10', '--seconds', '600', '--warmup', '0', '--idle', '0'], { TMPDIR: root }, root);
  }

  afterEach(async () => {
    // The server first: it holds the benchmark's stderr, whose end its exit waits for.
    for (const pid of await serversUnder(root)) process.kill(pid, 'SIGKILL');
    bench?.child.kill('SIGKILL');
    await bench?.exited;
    await stopPostgresUnder(root);
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ['SIGINT', 'once', 130],
    ['SIGTERM', 'once', 143],
    // The terminal the benchmark runs in closed.
    ['SIGHUP', 'once', 129],
    // A terminal's Ctrl-C as `npm run` passes it on: npm forwards it, and the terminal signals the
    // benchmark too when bash runs npm's script in its own place. The second is sent once the first
    // is taken (kill(2) twice at once would make one signal of the two).
    ['SIGINT', 'twice, as npm run passes Ctrl-C on,', 130],
  ] as const)('on %s %s stops its server and database, removes their folders and exits %i', async (signal, times, code) => {
    bench = startUnderLoad();
    await bench.waitForOutput('load: 2 customer/agent pairs', 60_000);
    expect(await postgresProcessesUnder(root)).not.toEqual([]);
    expect(await serversUnder(root)).not.toEqual([]);

    bench.child.kill(signal);
    if (times !== 'once') {
      await bench.waitForOutput(`${signal}: stopping what the benchmark started`);
      bench.child.kill(signal);
    }

    expect(await exitWithin(bench, 30_000)).toEqual({ code, signal: null });
    expect(bench.output()).toContain(`${signal}: stopping what the benchmark started`);
    expect(await postgresProcessesUnder(root)).toEqual([]);
    expect(await serversUnder(root)).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  }, 120_000);

  it('killed outright (SIGKILL), leaves no server running', async () => {
    bench = startUnderLoad();
    await bench.waitForOutput('load: 2 customer/agent pairs', 60_000);
    const [server] = await serversUnder(root);
    expect(server).toBeDefined();

    bench.child.kill('SIGKILL');

    await waitFor('the server to stop', async () => !(await serversUnder(root)).includes(server!));
  }, 120_000);

  it('stops its database, removes its folders and exits 1 when its server dies under it', async () => {
    bench = startUnderLoad();
    await bench.waitForOutput('load: 2 customer/agent pairs', 60_000);

    for (const pid of await serversUnder(root)) process.kill(pid, 'SIGKILL');

    expect(await exitWithin(bench, 30_000)).toEqual({ code: 1, signal: null });
    expect(await postgresProcessesUnder(root)).toEqual([]);
    expect(await readdir(root)).toEqual([]);
  }, 120_000);
});

/** The Parley servers whose data folder (`DATA_DIR`) is under `dir`. */
async function serversUnder(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const environment = (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0');
    if (environment.some((variable) => variable.startsWith(`DATA_DIR=${dir}/`))) found.push(Number(pid));
  }
  return found;
}
