import { createTestDatabase } from '../database.js';
import { scratchFolder, waitFor } from '../processes.js';
import { runSeed, seededRandom } from '../seeded-random.js';
import { testToken } from '../stomp-app.js';
import { reckon } from './ledger.js';
import { LoadClient } from './load-client.js';
import { AppNode, count, say, serversLeft } from './nodes.js';

const CLIENTS = 24;
const KILLS = 8;

/**
 * Issue 6, scenario 1: the app SIGKILLed under load, at seeded moments, and restarted. Every
 * receipted message is in the event log exactly once and in `chat_messages` exactly once;
 * clients that reconnect with `since-revision` are delivered every message once, in order; a
 * send whose answer was lost may be lost, never half-applied (every stored message is whole, its
 * hash chain intact).
 */
describe('reliability: the app killed under load', () => {
  const seed = runSeed();
  const random = seededRandom(seed);
  let folder: Awaited<ReturnType<typeof scratchFolder>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let node: AppNode;
  const clients: LoadClient[] = [];

  beforeAll(async () => {
    say(`crash under load: seed ${seed} (rerun with RELIABILITY_SEED=${seed})`);
    folder = await scratchFolder('parley-crash-');
    database = await createTestDatabase();
    node = await AppNode.create('app', database.url, folder.path);
    await node.start();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await node?.stop();
    await database?.drop();
    await folder?.remove();
    expect(serversLeft()).toBe(0);
  }, 60_000);

  const receipts = () => clients.reduce((sum, client) => sum + client.counts.receipts, 0);

  it(`loses no receipted message across ${KILLS} SIGKILLs, and half-applies none`, async () => {
    for (let i = 0; i < CLIENTS; i++) {
      const token = await testToken(`customer-crash-${i}`, 'customer');
      clients.push(new LoadClient({ name: `customer ${i}`, token, urls: () => [node.stompUrl], random: seededRandom(random.below(2 ** 31)) }));
    }
    for (const client of clients) client.start();

    for (let kill = 1; kill <= KILLS; kill++) {
      const after = random.between(300, 1200);
      const from = receipts();
      await waitFor(`${after} more receipts`, () => receipts() >= from + after, 60_000);
      const lostBefore = clients.reduce((sum, client) => sum + client.counts.lostAnswers, 0);
      await node.kill();
      const killedAt = Date.now();
      await node.start();
      const lost = clients.reduce((sum, client) => sum + client.counts.lostAnswers, 0) - lostBefore;
      say(`SIGKILL #${kill} after ${count(receipts() - from)} receipts since the last start; ${lost} answers lost in flight; ready again ${count(Date.now() - killedAt)} ms later`);
    }
    const from = receipts();
    await waitFor('traffic after the last restart', () => receipts() >= from + 200 && clients.every((client) => client.connectedTo), 60_000);
    await Promise.all(clients.map((client) => client.finish()));

    const totals = clients.reduce((sum, { counts }) => ({
      frames: sum.frames + counts.sendFrames,
      lost: sum.lost + counts.lostAnswers,
      connects: sum.connects + counts.connects,
      limited: sum.limited + counts.rateLimited,
      slowest: Math.max(sum.slowest, counts.slowestAnswerMs),
    }), { frames: 0, lost: 0, connects: 0, limited: 0, slowest: 0 });
    const reckoning = await reckon(database.url, clients, folder.path);
    say(`${count(totals.frames)} SEND frames (${count(totals.limited)} RATE_LIMITED), ${count(totals.lost)} unanswered because the app died, ${KILLS} SIGKILLs, ` +
      `${count(totals.connects)} connections (${count(totals.connects - CLIENTS)} reconnections); slowest answer ${count(totals.slowest)} ms`);
    for (const line of reckoning.lines) say(line);

    expect(reckoning.problems).toEqual([]);
    expect(node.starts).toBe(KILLS + 1);
    expect(reckoning.totals.receipted).toBeGreaterThan(KILLS * 300);
  }, 240_000);
});
