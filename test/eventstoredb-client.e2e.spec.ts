import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, SERVER, runNode } from './processes.js';

/**
 * EventStoreDB's client (gRPC and its protocol definitions: some 5 MiB of heap, 15 MiB of RSS) is
 * loaded only when EventStoreDB is configured. Each program runs with a module of ours loaded first
 * (`--import`) that prints, as the process exits, whether the client is among the modules Node
 * loaded; the client is CommonJS, so Node keeps it in the CommonJS cache.
 */
const NOTHING_LISTENS = 'postgres://parley@127.0.0.1:1/parley';
let dir: string;
let reporter: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-esdb-client-'));
  reporter = join(dir, 'report.mjs');
  await writeFile(reporter, `
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    process.on('exit', () => {
      const loaded = Object.keys(cache).some((file) => file.includes('/node_modules/@eventstore/db-client/'));
      process.stderr.write('EventStoreDB client loaded: ' + (loaded ? 'yes' : 'no') + '\\n');
    });
  `);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function withReporter(settings: Record<string, string> = {}): Record<string, string> {
  return { ...settings, NODE_OPTIONS: `--import=${pathToFileURL(reporter).href}` };
}

describe("EventStoreDB's client", () => {
  it('is not loaded by the server on PostgreSQL, all its modules imported', async () => {
    const { code, output } = await runNode(SERVER, [], withReporter({ DATABASE_URL: NOTHING_LISTENS }), dir);
    expect(code).toBe(1);
    expect(output).toContain('cannot use PostgreSQL at 127.0.0.1:1');
    expect(output).toContain('EventStoreDB client loaded: no');
  });

  it('is not loaded by the chat command line', async () => {
    const { output } = await runNode(CLI, [], withReporter(), dir);
    expect(output).toContain('usage: npm run chat');
    expect(output).toContain('EventStoreDB client loaded: no');
  });

  it('is loaded once EventStoreDB is the configured store (the check above can see it)', async () => {
    const script = join(dir, 'open-eventstoredb.mjs');
    const opener = pathToFileURL(join(ROOT, 'dist', 'src', 'event-store', 'configured-event-store.js')).href;
    await writeFile(script, `
      const { openEventStore } = await import(${JSON.stringify(opener)});
      const store = await openEventStore({ eventStore: 'eventstoredb', eventStoreConnectionString: 'esdb://127.0.0.1:1?tls=false' }, {});
      await store.close();
    `);
    const { code, output } = await runNode(script, [], withReporter(), dir);
    expect(code).toBe(0);
    expect(output).toContain('EventStoreDB client loaded: yes');
  });
});
