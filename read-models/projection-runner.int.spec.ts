import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { createTestDatabase } from '../test/database.js';
import { startTcpProxy } from '../test/tcp-proxy.js';
import { CHAT_TABLES, chatProjection } from './chat.projection.js';
import { readCheckpoint } from './checkpoints.js';
import { lockHolder } from './locks.js';
import { ProjectionRunner, type ProjectionRunnerOptions, type ProjectionStatus } from './projection-runner.js';
import {
  allChatEvents, chatProjectedFromScratch, conversation, eventually, listenForNotices, openTestLog,
  tableContents, type NoticeListener, type TestLog, waitCaughtUp,
} from './testing/fixtures.js';

describe('the projection runner', () => {
  let log: TestLog;
  let listener: NoticeListener;
  const runners: ProjectionRunner[] = [];

  beforeEach(async () => {
    log = await openTestLog(await createTestDatabase());
    listener = await listenForNotices(log.url);
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
    await listener.close();
    await log.close();
  });

  const runner = (options: Partial<ProjectionRunnerOptions> = {}) => {
    const created = new ProjectionRunner({
      databaseUrl: log.url, store: log.store, projections: [chatProjection],
      batchSize: 50, lockRetryMs: 50, initialBackoffMs: 50, maxBackoffMs: 200, ...options,
    });
    runners.push(created);
    created.start();
    return created;
  };
  const statusOf = (of: ProjectionRunner): ProjectionStatus => of.status()[0]!;
  const leads = (of: ProjectionRunner) => eventually(() => statusOf(of), (status) => status.holdsLock, { what: 'taking the lead' });
  const appendConversations = async (count: number, messages = 6) => {
    for (let i = 0; i < count; i++) {
      const sessionId = randomUUID();
      await log.chat.append(sessionId, conversation(sessionId, messages));
    }
  };
  const caughtUp = () => waitCaughtUp(log, runners);
  const leaderPid = () => lockHolder(log.pool, 'leader', chatProjection.name);
  /** Terminates the leader's connection (its lock goes with it) and waits for another to take the lead. */
  const cutLeader = async () => {
    const pid = await leaderPid();
    await log.pool.query(sql.unsafe`SELECT pg_terminate_backend(${pid})`);
    await eventually(leaderPid, (leader) => leader !== null && leader !== pid, { what: 'a new leader' });
  };
  /** The statuses of `of`, once exactly one of them leads. */
  const oneLeader = (of: ProjectionRunner[]) =>
    eventually(() => of.map(statusOf), (all) => all.filter((s) => s.holdsLock).length === 1, { what: 'one leader' });

  /** Every event was projected and announced exactly once, in log order, and the tables are right. */
  const expectEveryEventOnce = async () => {
    await caughtUp();
    const events = await allChatEvents(log.store);
    await eventually(() => listener.notices.length, (count) => count >= events.length, { what: 'every notice' });
    expect(listener.notices.map((notice) => notice.eventId)).toEqual(events.map((event) => event.eventId));
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(await chatProjectedFromScratch(log));
  };

  it('projects the log from its checkpoint, in batches, and announces each event once', async () => {
    await appendConversations(5);
    const only = runner();
    await caughtUp();
    await appendConversations(5);
    await expectEveryEventOnce();
    const events = await allChatEvents(log.store);
    expect(statusOf(only)).toEqual({
      name: 'chat', state: 'running', holdsLock: true, checkpoint: events.at(-1)!.logPosition,
      eventsProjected: events.length, unknownEventsSkipped: 0, failure: undefined, lastError: undefined,
      memory: { entries: 10, capacity: 10_000 }, // the ten sessions' rows, remembered
    });
  });

  it('counts the unknown events it skips', async () => {
    const sessionId = randomUUID();
    await log.chat.append(sessionId, conversation(sessionId, 1).slice(0, 2));
    await log.chat.appendRaw(sessionId, 'ChatSessionTransferred', { sessionId });
    await log.chat.appendRaw(sessionId, 'ChatSessionEscalated', { sessionId });
    await log.chat.append(sessionId, conversation(sessionId, 1).slice(2, 3));
    const only = runner();
    await caughtUp();
    expect(statusOf(only)).toMatchObject({ eventsProjected: 3, unknownEventsSkipped: 2, state: 'running' });
  });

  it('stops at a known event it cannot apply, naming it, with the checkpoint right before it', async () => {
    await appendConversations(2);
    const sessionId = randomUUID();
    await log.chat.append(sessionId, conversation(sessionId, 2).slice(0, 3));
    const bad = await log.chat.appendRaw(sessionId, 'ChatMessageSent', { sessionId, messageId: 'not-a-uuid', senderId: 'x', senderType: 'user', body: 'hi' });
    await appendConversations(1);
    const events = await allChatEvents(log.store);
    const index = events.findIndex((event) => event.eventId === bad);

    const stopped = runner({ batchSize: 500 });
    const status = await eventually(() => statusOf(stopped), (s) => s.state === 'failed', { what: 'the projection failing' });

    expect(status.failure).toEqual({
      reason: expect.stringContaining('messageId'),
      event: {
        eventId: bad, type: 'ChatMessageSent', streamName: `chat_session-${sessionId}`, revision: 3n,
        position: events[index]!.position, logPosition: events[index]!.logPosition,
      },
    });
    expect(await readCheckpoint(log.pool, chatProjection.name)).toEqual(events[index - 1]!.logPosition);
    expect(status).toMatchObject({ eventsProjected: index, checkpoint: events[index - 1]!.logPosition });
    expect((await tableContents(log.pool, CHAT_TABLES)).sessions).toHaveLength(3);
    expect(statusOf(stopped).holdsLock).toBe(false);
    await eventually(leaderPid, (pid) => pid === null, { what: 'the lock freed' });
    expect(listener.notices.map((notice) => notice.eventId)).toEqual(events.slice(0, index).map((event) => event.eventId));
  });

  it('runs exactly one of two runners; when the leader stops, the other takes over without losing or doubling an event', async () => {
    const first = runner();
    await leads(first);
    const second = runner();
    await appendConversations(4);
    await caughtUp();
    expect(statusOf(second)).toMatchObject({ state: 'running', holdsLock: false, eventsProjected: 0, memory: undefined });
    const projectedByFirst = statusOf(first).eventsProjected;
    expect(projectedByFirst).toBe((await allChatEvents(log.store)).length);

    const appending = appendConversations(4);
    await first.stop();
    expect(statusOf(first)).toMatchObject({ state: 'stopped', holdsLock: false });
    await leads(second);
    await appending;
    await appendConversations(2);
    await expectEveryEventOnce();
    expect(statusOf(first).eventsProjected + statusOf(second).eventsProjected).toBe((await allChatEvents(log.store)).length);
    expect(statusOf(second).eventsProjected).toBeGreaterThan(0);
  });

  it('elects a leader again when the leader loses its connection; the other stands by, no event lost or doubled', async () => {
    const first = runner();
    await leads(first);
    const second = runner();
    await appendConversations(3);
    await caughtUp();

    const appending = appendConversations(3);
    // Either may win the lock back: the one that lost its connection tries again after a back-off.
    await cutLeader();
    await appending;
    await expectEveryEventOnce();
    const holders = await oneLeader([first, second]);
    expect(holders.map((s) => s.state)).toEqual(['running', 'running']);
  });

  it('a leader whose connection is cut while it waits for events stops leading: one leader, who projects what comes next', async () => {
    const first = runner();
    await leads(first);
    const second = runner();
    await appendConversations(1);
    await caughtUp();

    await cutLeader();
    await oneLeader([first, second]);
    await appendConversations(1);
    await expectEveryEventOnce();
    expect([first, second].map(statusOf).filter((s) => s.holdsLock)).toHaveLength(1);
  });

  it('survives the database going away: backs off, takes the lead again and resumes from the checkpoint', async () => {
    const proxy = await startTcpProxy(Number(new URL(log.url).port));
    const viaProxy = new URL(log.url);
    viaProxy.port = String(proxy.port);
    const only = runner({ databaseUrl: viaProxy.toString() });
    await leads(only);
    await appendConversations(2);
    await caughtUp();

    await proxy.cut();
    await appendConversations(2); // through the event store's own connection, which still works
    await eventually(() => statusOf(only), (s) => s.lastError !== undefined && !s.holdsLock, { what: 'the loss noticed' });
    await proxy.restore();
    await leads(only);
    await expectEveryEventOnce();
    expect(statusOf(only)).toMatchObject({ state: 'running', lastError: undefined });
    await proxy.close();
  });

  it('survives a database it can connect to but not talk to (a pooler in front of a stopped server): keeps trying', async () => {
    const proxy = await startTcpProxy(Number(new URL(log.url).port));
    const viaProxy = new URL(log.url);
    viaProxy.port = String(proxy.port);
    await proxy.cut('drop');
    const only = runner({ databaseUrl: viaProxy.toString() });
    await appendConversations(2);
    // Every attempt at the lead's connection is accepted, then closed before PostgreSQL answers.
    await eventually(() => statusOf(only), (s) => s.lastError !== undefined, { what: 'a failed attempt' });
    await proxy.restore();
    await leads(only);
    await expectEveryEventOnce();
    expect(statusOf(only)).toMatchObject({ state: 'running', lastError: undefined });
    await proxy.close();
  });

  it('backs off while the database refuses writes (read-only, as a standby or a full disk leaves it), and projects once it takes them', async () => {
    await appendConversations(2);
    const database = sql.identifier([new URL(log.url).pathname.slice(1)]);
    await log.pool.query(sql.unsafe`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    const only = runner();
    const refused = await eventually(() => statusOf(only), (s) => s.lastError !== undefined || s.state === 'failed', { what: 'a batch refused' });
    expect(refused).toMatchObject({ state: 'running', failure: undefined });

    await log.pool.query(sql.unsafe`ALTER DATABASE ${database} RESET default_transaction_read_only`);
    await expectEveryEventOnce();
  });

  it('releases the lead when stopped, after the batch in flight', async () => {
    const only = runner();
    await leads(only);
    await appendConversations(3);
    await only.stop();
    expect(await leaderPid()).toBeNull();
    expect(statusOf(only)).toMatchObject({ state: 'stopped', holdsLock: false });
    const stored = await readCheckpoint(log.pool, chatProjection.name);
    expect(stored).toEqual(statusOf(only).checkpoint);
  });
});
