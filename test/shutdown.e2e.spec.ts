import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { processIdentity } from '../src/database/process-lock.js';
import { streamNameOf } from '../src/chat-session/chat-session.events.js';
import { freePort } from './global-setup.js';
import {
  type NodeProcess, SERVER, exitWithin, postgresProcessesUnder, postgresReachableFolder, startNode, startNodeInTerminal, stopPostgresUnder,
  waitFor, waitsForAdvisoryLock, withEmbeddedClient,
} from './processes.js';
import { TEST_JWT_SECRET, testToken } from './stomp-app.js';
import { StompTestClient } from './stomp-client.js';

let root: string;
/** The server a test started last; killed at the end if the test could not stop it. */
let server: NodeProcess | undefined;

beforeAll(async () => {
  root = await postgresReachableFolder('parley-shutdown-e2e-');
});
afterAll(async () => {
  server?.child.kill('SIGKILL');
  await server?.exited;
  await stopPostgresUnder(root);
  await rm(root, { recursive: true, force: true });
});

/**
 * SIGTERM to the server as a user runs it (`node dist/src/main.js` on its embedded PostgreSQL)
 * while a STOMP client has a pipeline of commands in flight: whatever was RECEIPTed is in the
 * event log, the client is told to go elsewhere, and the server exits cleanly, its database too.
 */
describe('the server on SIGTERM with STOMP commands in flight', () => {
  /** The ids of the messages stored in the session's stream, read once the server is gone. */
  async function storedMessageIds(dataDir: string, sessionId: string): Promise<string[]> {
    const database = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    const client = new pg.Client({ connectionString: database.url });
    try {
      await client.connect();
      const { rows } = await client.query<{ id: string }>(
        `SELECT data->>'messageId' AS id FROM events WHERE stream_name = $1 AND event_type = 'ChatMessageSent' ORDER BY revision`,
        [streamNameOf(sessionId)],
      );
      return rows.map((row) => row.id);
    } finally {
      await client.end();
      await database.stop();
    }
  }

  it('stores every RECEIPTed SEND, answers the later ones UNAVAILABLE, sends ERROR "server shutting down" and exits 0 with its PostgreSQL', async () => {
    const dataDir = join(root, 'data');
    const port = await freePort();
    // A burst of 200 SENDs is this test's way to have commands in flight: the SEND limit is raised.
    const settings = {
      DATA_DIR: dataDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(await freePort()), JWT_SECRET: TEST_JWT_SECRET,
      STOMP_SEND_RATE: '1000', STOMP_SEND_BURST: '1000',
    };
    server = startNode(SERVER, [], settings, root);
    await server.waitForOutput(`listening on http://localhost:${port}`, 45_000);
    const client = await StompTestClient.connect(`ws://127.0.0.1:${port}/stomp`, await testToken(`customer-${randomUUID()}`, 'customer'));
    expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
    const sessionId = randomUUID();
    expect(await client.send('/app/chat/open', { sessionId, subject: 'Shutdown under load' })).toEqual({ ok: true });

    const messageIds = Array.from({ length: 200 }, () => randomUUID());
    const receipts = messageIds.map((messageId) => client.sendNoWait(`/app/chat/${sessionId}/messages`, { messageId, body: `in flight ${messageId}` }));
    await waitFor('the first RECEIPT', () => client.received.receipts.has(receipts[0]!));
    server.child.kill('SIGTERM');

    await waitFor('the ERROR frame', () => client.received.stompErrors.length > 0);
    expect(client.received.stompErrors.map((frame) => frame.headers.message)).toEqual(['server shutting down']);
    expect(await exitWithin(server, 30_000)).toEqual({ code: 0, signal: null });
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
    expect(client.received.closeCode).toBe(1001);

    // Each SEND got its RECEIPT, or UNAVAILABLE once the server was stopping, or nothing after the ERROR: in that order.
    const rejections = new Map(client.errors().map((message) => [message.headers['receipt-id'], message.headers.code]));
    const outcomeOf = (receipt: string) => {
      if (client.received.receipts.has(receipt)) return 'R';
      const code = rejections.get(receipt);
      return code === undefined ? '-' : code === 'UNAVAILABLE' ? 'U' : `(${code})`;
    };
    expect(receipts.map(outcomeOf).join('')).toMatch(/^R+U+-*$/);
    const receipted = messageIds.filter((_, i) => client.received.receipts.has(receipts[i]!));
    expect(await storedMessageIds(dataDir, sessionId)).toEqual(receipted);
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
    await client.disconnect();
  });
});

/**
 * SIGHUP, as the terminal the server runs in sends when it is closed: Node's default would end the
 * server there and then, its embedded PostgreSQL left running and `postgres.lock` perhaps held.
 */
describe('the server on SIGHUP', () => {
  it('stops as on SIGTERM, its PostgreSQL with it, no lock left, and exits 0', async () => {
    const dataDir = join(root, 'hang-up');
    const port = await freePort();
    server = startNode(SERVER, [], { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(await freePort()) }, root);
    await server.waitForOutput(`listening on http://localhost:${port}`, 45_000);

    server.child.kill('SIGHUP');

    expect(await exitWithin(server, 30_000)).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('SIGHUP: stopping (again to exit at once)');
    expect(server.output()).toContain('embedded PostgreSQL stopped');
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
    expect(await readdir(dataDir)).not.toContain('postgres.lock');
  });
});

/**
 * The server in a terminal, the terminal then closed: the kernel sends it SIGHUP, and its writes to
 * the terminal fail (EIO). Until 2026-12-07 the first of them ended it, its PostgreSQL left running.
 */
describe('the server in a terminal that is closed', () => {
  it('stops with its PostgreSQL, no lock left, although it has nowhere left to write', async () => {
    const dataDir = join(root, 'closed-terminal');
    const port = await freePort();
    const settings = { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(await freePort()) };
    const terminal = startNodeInTerminal(SERVER, [], settings, root);
    await terminal.waitForOutput(`listening on http://localhost:${port}`, 45_000);
    // Not this test's child: the terminal's.
    const serverPid = Number((await readFile(join(dataDir, 'owner.pid'), 'utf8')).split(' ')[0]);
    try {
      terminal.child.kill('SIGKILL'); // the terminal closes with it
      await terminal.exited;

      await waitFor('the server and its PostgreSQL to stop', async () =>
        (await processIdentity(serverPid)) === undefined && (await postgresProcessesUnder(dataDir)).length === 0);
      expect(await readdir(dataDir)).not.toContain('postgres.lock');
    } finally {
      if ((await processIdentity(serverPid)) !== undefined) process.kill(serverPid, 'SIGKILL');
    }
  });
});

/**
 * A second SIGINT while the server stops, as a user presses Ctrl-C again when the first does not
 * seem to end it: it exits at once. A repeat within the second, as `npm start` delivers one Ctrl-C
 * when bash runs the script, is the same request.
 */
describe('the server on a second signal', () => {
  it('exits at once on one a second after the first, whose stop waits for the projection, and leaves the database to the next server', async () => {
    const dataDir = join(root, 'second-signal');
    const port = await freePort();
    const settings = { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(await freePort()), JWT_SECRET: TEST_JWT_SECRET };
    const projectionWaitsForLock = () =>
      withEmbeddedClient(dataDir, settings.EMBEDDED_POSTGRES_PORT, (client) => waitsForAdvisoryLock(client, 'parley-projection-chat'));
    server = startNode(SERVER, [], settings, root);
    await server.waitForOutput(`listening on http://localhost:${port}`, 45_000);
    const stopping = server;

    // The projection's write lock, held here: its next batch waits for it, and the server's stop for that batch.
    await withEmbeddedClient(dataDir, settings.EMBEDDED_POSTGRES_PORT, async (holder) => {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended('parley.projection.write:chat', 0))`);
      const client = await StompTestClient.connect(`ws://127.0.0.1:${port}/stomp`, await testToken(`customer-${randomUUID()}`, 'customer'));
      expect(await client.send('/app/chat/open', { sessionId: randomUUID(), subject: 'Stuck in projection' })).toEqual({ ok: true });
      await waitFor('the projection to wait for the write lock', projectionWaitsForLock);

      stopping.child.kill('SIGINT');
      const firstSignal = performance.now();
      await stopping.waitForOutput('SIGINT: stopping');
      stopping.child.kill('SIGINT'); // npm's copy of the same Ctrl-C
      // The wait is the behaviour under test: a repeat within a second is taken for the same Ctrl-C.
      await waitFor('a second since the first signal', async () => performance.now() - firstSignal > 1_100 && (await projectionWaitsForLock()));
      expect(stopping.child.exitCode).toBeNull();
      stopping.child.kill('SIGINT');

      expect(await exitWithin(stopping, 5_000)).toEqual({ code: 130, signal: null });
      // Gone without its stop, whose projection batch still waits.
      expect(await projectionWaitsForLock()).toBe(true);
      await client.disconnect();
      await holder.query('ROLLBACK');
    });
    expect(await postgresProcessesUnder(dataDir)).not.toEqual([]);

    server = startNode(SERVER, [], settings, root);
    await server.waitForOutput('adopting the embedded PostgreSQL left running', 45_000);
    await server.waitForOutput(`listening on http://localhost:${port}`, 45_000);
    server.child.kill('SIGINT');
    expect(await exitWithin(server, 30_000)).toEqual({ code: 0, signal: null });
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  }, 120_000);
});
