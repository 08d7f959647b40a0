import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/database/embedded-postgres.js';
import { freePort } from '../global-setup.js';
import { postgresProcessesUnder, scratchFolder, stopPostgresUnder, waitFor } from '../processes.js';
import { runSeed, seededRandom } from '../seeded-random.js';
import { testToken } from '../stomp-app.js';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js';
import { reckon } from './ledger.js';
import { LoadClient } from './load-client.js';
import { AppNode, count, type Readiness, say, serversLeft } from './nodes.js';

const CLIENTS = 8;
/** A refused command is answered at once, not after a timeout: well under the 20 s counted as a hang. */
const ANSWERED_WITHIN_MS = 6_000;
/** Once the database is back, subscribers are delivered new events within seconds, not after a long back-off. */
const DELIVERED_AGAIN_WITHIN_MS = 5_000;

/**
 * Issue 6, scenario 2: the database lost while traffic runs: every connection cut (a TCP proxy
 * in front of PostgreSQL drops them and refuses new ones), PostgreSQL itself stopped and started,
 * and the node's LISTEN connection terminated by the server. Commands are refused `UNAVAILABLE`
 * at once (never a hang, never a RECEIPT for what was not stored); `/health/ready` says the
 * database is down, then that it is back, and by then the node listens again; projection and
 * LISTEN resume by themselves; subscribers miss nothing.
 */
describe('reliability: the database lost under traffic', () => {
  const seed = runSeed();
  const random = seededRandom(seed);
  let folder: Awaited<ReturnType<typeof scratchFolder>>;
  let postgres: EmbeddedPostgres;
  let postgresPort: number;
  let proxy: TcpProxy;
  let databaseUrl: string;
  let node: AppNode;
  const clients: LoadClient[] = [];

  beforeAll(async () => {
    say(`database outages: seed ${seed} (rerun with RELIABILITY_SEED=${seed})`);
    folder = await scratchFolder('parley-outage-');
    postgresPort = await freePort();
    postgres = await startEmbeddedPostgres({ dataDir: join(folder.path, 'postgres'), port: postgresPort });
    proxy = await startTcpProxy(postgresPort);
    const url = new URL(postgres.url);
    url.port = String(proxy.port);
    databaseUrl = url.toString();
    node = await AppNode.create('app', databaseUrl, folder.path);
    await node.start();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await node?.stop();
    await proxy?.close();
    await postgres?.stop({ force: true }).catch(() => {});
    if (folder) {
      await stopPostgresUnder(folder.path);
      expect(await postgresProcessesUnder(folder.path)).toEqual([]);
      await folder.remove();
    }
    expect(serversLeft()).toBe(0);
  }, 60_000);

  /** Whether the node's LISTEN connection is open, asked of PostgreSQL itself (not through the proxy). */
  async function listening(): Promise<boolean> {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'parley-gateway-listener'`);
      return rows.length > 0;
    } finally {
      await client.end();
    }
  }

  /** Starts `CLIENTS` load clients and waits until each has sent and been delivered something. */
  async function startTraffic(label: string): Promise<LoadClient[]> {
    const started: LoadClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const token = await testToken(`customer-${label}-${i}`, 'customer');
      started.push(new LoadClient({ name: `${label} ${i}`, token, urls: () => [node.stompUrl], random: seededRandom(random.below(2 ** 31)) }));
    }
    clients.push(...started);
    for (const client of started) client.start();
    await waitFor('traffic from every client', () => started.every((client) => client.counts.receipts >= 10 && client.lastRevision >= 0), 30_000);
    return started;
  }

  /** Checks what the clients were told and delivered, against the log and the read model. */
  async function settle(traffic: LoadClient[]): Promise<void> {
    await Promise.all(traffic.map((client) => client.finish()));
    const reckoning = await reckon(databaseUrl, traffic, folder.path);
    for (const line of reckoning.lines) say(line);
    expect(reckoning.problems).toEqual([]);
    // The outage never cost a client its STOMP connection: rejections keep it open.
    expect(traffic.map((client) => client.counts.connects)).toEqual(traffic.map(() => 1));
  }

  /**
   * Runs traffic through `begin()` … `end()`: the outage lasts until `/health/ready` has said so
   * and every client has been refused UNAVAILABLE a seeded number of times (each retries after
   * 100–300 ms); then the readiness, the traffic and the deliveries must come back.
   */
  async function outage(label: string, begin: () => Promise<void>, end: () => Promise<void>): Promise<void> {
    const traffic = await startTraffic(label);
    const refusals = random.between(5, 40);
    const refusedBefore = traffic.map((client) => client.counts.unavailable);
    const receiptsBefore = traffic.reduce((sum, client) => sum + client.counts.receipts, 0);
    await begin();
    const began = Date.now();
    const slowHealth: Readiness[] = [];
    const down = await waitFor('/health/ready to report the database down', async () => {
      const readiness = await node.readiness();
      if (readiness.status === 'timeout' || readiness.ms > 3_000) slowHealth.push(readiness);
      return readiness.status === 503 && readiness.body?.checks?.database === 'down' ? readiness : undefined;
    }, 15_000);
    const reportedMs = Date.now() - began;
    await waitFor('an UNAVAILABLE refusal at every client', () => traffic.every((client, i) => client.counts.unavailable > refusedBefore[i]!), 15_000);
    const refusedMs = Date.now() - began;
    await waitFor(`${refusals} refusals at every client`, () => traffic.every((client, i) => client.counts.unavailable >= refusedBefore[i]! + refusals), 30_000);
    const stalled = traffic.map((client) => client.counts.receipts);
    const seenAtEnd = traffic.map((client) => client.lastRevision);
    await end();
    const ended = Date.now();
    let last: Readiness | undefined;
    const up = await waitFor('/health/ready to report the recovery', async () => {
      last = await node.readiness();
      return last.status === 200 ? last : undefined;
    }, 30_000).catch((error: Error) => {
      throw new Error(`${error.message}; it last said ${last?.status} ${JSON.stringify(last?.body)}; the node's log ends:\n${node.output().slice(-4_000)}`);
    });
    const readyMs = Date.now() - ended;
    const listeningWhenReady = await listening();
    await waitFor('the projection to lead again', async () => (await node.readiness()).body?.projections?.chat?.leader === true, 30_000);
    const projectingMs = Date.now() - ended;
    await waitFor('new events delivered to every client', () => traffic.every((client, i) => client.lastRevision > seenAtEnd[i]! + 1), 30_000);
    const deliveredMs = Date.now() - ended;
    await waitFor('traffic from every client again', () => traffic.every((client, i) => client.counts.receipts >= stalled[i]! + 10), 30_000);

    const refused = traffic.reduce((sum, client, i) => sum + client.counts.unavailable - refusedBefore[i]!, 0);
    const slowest = Math.max(...traffic.map((client) => client.counts.slowestAnswerMs));
    say(`${label}: ${count(receiptsBefore)} receipts before; outage of ${count(ended - began)} ms: /health/ready said ${down.status} ` +
      `${JSON.stringify(down.body.checks)} after ${count(reportedMs)} ms; every client refused UNAVAILABLE within ${count(refusedMs)} ms ` +
      `(${count(refused)} refusals in all, ${refusals} or more each; slowest answer ${count(slowest)} ms, no hang)`);
    say(`${label}: back: /health/ready 200 ${JSON.stringify(up.body.checks)} ${count(readyMs)} ms after the database ` +
      `(LISTEN up by then: ${listeningWhenReady}); projecting again after ${count(projectingMs)} ms; new events delivered to every ` +
      `subscriber after ${count(deliveredMs)} ms`);
    await settle(traffic);

    expect(slowHealth).toEqual([]);
    expect(slowest).toBeLessThan(ANSWERED_WITHIN_MS);
    expect(listeningWhenReady).toBe(true);
    expect(deliveredMs).toBeLessThan(DELIVERED_AGAIN_WITHIN_MS);
  }

  it('every connection cut and refused (TCP proxy), then accepted again', async () => {
    await outage('connections cut', () => proxy.cut(), () => proxy.restore());
  });

  it('PostgreSQL stopped (fast shutdown) and started again', async () => {
    await outage('PostgreSQL restarted', () => postgres.stop({ force: true }), async () => {
      postgres = await startEmbeddedPostgres({ dataDir: join(folder.path, 'postgres'), port: postgresPort });
    });
  });

  it('the node\'s LISTEN connection terminated by the server, again and again: subscribers miss nothing', async () => {
    const traffic = await startTraffic('LISTEN terminated');
    const terminations = random.between(3, 6);
    for (let i = 0; i < terminations; i++) {
      await waitFor('the node to listen again', listening, 30_000);
      const target = traffic.reduce((sum, client) => sum + client.counts.receipts, 0) + random.between(50, 200);
      await waitFor('traffic', () => traffic.reduce((sum, client) => sum + client.counts.receipts, 0) >= target, 30_000);
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'parley-gateway-listener'`);
      await client.end();
    }
    say(`LISTEN terminated: ${terminations} times, under traffic`);
    await settle(traffic);
  });
});
