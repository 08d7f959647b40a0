import { randomUUID } from 'node:crypto';
import type { BenchServer } from './server-process.js';
import { fmt, kib, mib, sleep } from './stats.js';
import { StompPeer } from './stomp-peer.js';

/** The goal: this many idle connections held in less than this much server memory. */
const GOAL = { connections: 10_000, rssBytes: 2 ** 30, label: '1 GiB' };
/** Connections opened (or sessions opened) at once: more at a time only queues in the server. */
const BATCH = 100;

interface Memory {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

/**
 * The server's memory held by `count` idle connections, measured on a server that has served
 * nothing else yet (after a load, the heap it grew would be reused and hide the cost). Each
 * connection is a customer's widget left open: its own JWT, CONNECTed (heart-beats 10 s both
 * ways), SUBSCRIBEd to `/user/queue/errors`; then, as a widget waiting for an agent, it opens
 * its own session and SUBSCRIBEs to that session's `/topic/chat/{sessionId}`. The server's RSS,
 * used heap and external memory are read from its `/metrics` (after a full collection) before,
 * after the connections, and after the sessions; per connection is the growth divided by
 * `count`. The connections are closed at the end.
 */
export async function measureIdleMemory(server: BenchServer, count: number): Promise<void> {
  console.log(`idle connections: ${fmt(count)}, on the fresh server, before any load`);
  const before = await settledMemory(server);
  console.log(`  server before:               ${describe(before)}`);
  const peers: StompPeer[] = [];
  try {
    let started = performance.now();
    await inBatches(count, async (i) => {
      peers.push(await StompPeer.connect(server.stompUrl, await server.token(`bench-idle-${i}`, 'customer')));
    });
    const connectRate = count / ((performance.now() - started) / 1000);
    const connected = await settledMemory(server);
    console.log(`  connected, errors queue:     ${describe(connected)}  (opened at ${fmt(connectRate)}/s)`);
    console.log(`    per connection:            ${perConnection(before, connected, count)}`);

    started = performance.now();
    await inBatches(count, async (i) => {
      const sessionId = randomUUID();
      await peers[i]!.request('/app/chat/open', { sessionId, subject: 'idle benchmark' });
      await peers[i]!.subscribe(`/topic/chat/${sessionId}`, () => {});
    });
    const openRate = count / ((performance.now() - started) / 1000);
    const watching = await settledMemory(server);
    console.log(`  + own session, subscribed:   ${describe(watching)}  (opened at ${fmt(openRate)}/s)`);
    console.log(`    per connection:            ${perConnection(before, watching, count)}`);
    const projected = before.rssBytes + ((watching.rssBytes - before.rssBytes) / count) * GOAL.connections;
    const verdict = projected < GOAL.rssBytes ? 'met' : 'NOT met';
    const basis = count === GOAL.connections ? 'measured' : `projected from ${fmt(count)}`;
    console.log(`  goal, ${fmt(GOAL.connections)} idle connections under ${GOAL.label} RSS: ${verdict} (${mib(projected)}, ${basis})`);
  } finally {
    for (let i = 0; i < peers.length; i += 1000) await Promise.all(peers.slice(i, i + 1000).map((peer) => peer.close()));
  }
}

/** Runs `task(0 … count-1)`, `BATCH` at a time. */
async function inBatches(count: number, task: (index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < count; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => task(i + j)));
  }
}

/**
 * The least of three samples, each just after a full garbage collection in the server: the
 * heap then holds what is alive (idle connections make some garbage: heart-beats), and the
 * RSS what the process keeps after collecting.
 */
async function settledMemory(server: BenchServer): Promise<Memory> {
  await sleep(1000);
  const samples: Memory[] = [];
  for (let i = 0; i < 3; i++) {
    await server.collectGarbage();
    samples.push(await server.metrics());
  }
  const least = (key: keyof Memory) => Math.min(...samples.map((sample) => sample[key]));
  return { rssBytes: least('rssBytes'), heapUsedBytes: least('heapUsedBytes'), externalBytes: least('externalBytes') };
}

function describe(memory: Memory): string {
  return `RSS ${mib(memory.rssBytes)}, heap used ${mib(memory.heapUsedBytes)}, external ${mib(memory.externalBytes)}`;
}

function perConnection(before: Memory, after: Memory, count: number): string {
  const each = (key: keyof Memory) => kib((after[key] - before[key]) / count);
  return `RSS ${each('rssBytes')}, heap ${each('heapUsedBytes')}, external ${each('externalBytes')}`;
}
