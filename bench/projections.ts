import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { chatProjection } from '../read-models/chat.projection.js';
import { EVENTS_CHANNEL } from '../read-models/notify.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { rebuildProjection } from '../read-models/rebuild.js';
import { type ChatSessionEvent, streamNameOf } from '../src/chat-session/chat-session.events.js';
import { timeOrderedUuid } from '../src/chat-session/event-ids.js';
import { GENESIS_HASH, stampEvents } from '../src/chat-session/hash-chain.js';
import { createDatabasePool } from '../src/database/pool.js';
import { PostgresEventStore } from '../src/event-store/postgres-event-store.js';
import { freshEmbeddedDatabase } from './embedded.js';

/**
 * The chat projection on the embedded database: the rate of a full rebuild from a log of chat
 * sessions (5 to 50 messages each), then the live projection's lag, from an append's commit to
 * its NOTIFY, under a steady open-loop append rate.
 */
export async function projectionsBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '200000' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '20' },
    },
  });
  const database = await freshEmbeddedDatabase(54331);
  const pool = await createDatabasePool(database.url, { maximumPoolSize: 12 });
  const store = new PostgresEventStore(pool);
  try {
    const written = await writeSessions(store, Number(values.events));
    console.log(`log: ${written.events.toLocaleString('en-US')} chat events in ${written.sessions.toLocaleString('en-US')} sessions`);

    const started = performance.now();
    const rebuilt = await rebuildProjection({ databaseUrl: database.url, store, projection: chatProjection });
    const seconds = (performance.now() - started) / 1000;
    console.log(`rebuild:   ${fmt(rebuilt.eventsProjected / seconds)} events/s (${rebuilt.eventsProjected.toLocaleString('en-US')} events in ${seconds.toFixed(1)} s)`);

    const lags = await measureLiveLag(database.url, store, Number(values.rate), Number(values.seconds));
    console.log(
      `live lag:  p50 ${lags.p50.toFixed(1)} ms, p99 ${lags.p99.toFixed(1)} ms, max ${lags.max.toFixed(1)} ms ` +
        `(append commit to NOTIFY, ${lags.count.toLocaleString('en-US')} events at ${fmt(lags.rate)} appends/s for ${values.seconds} s)`,
    );
  } finally {
    await pool.end();
    await database.stop();
  }
}

/** A session's events as the write side stamps them: open, join, messages both ways, reads, close, rate. */
function session(messages: number): { sessionId: string; events: ChatSessionEvent[] } {
  const sessionId = randomUUID();
  const events: ChatSessionEvent[] = [
    { type: 'ChatSessionOpened', data: { sessionId, customerId: `customer-${sessionId.slice(0, 8)}`, subject: 'My car will not start' } },
    { type: 'AgentJoined', data: { sessionId, agentId: 'agent-1', agentName: 'Ada' } },
  ];
  for (let i = 0; i < messages; i++) {
    const fromUser = i % 2 === 0;
    const messageId = randomUUID();
    events.push({
      type: 'ChatMessageSent',
      data: { sessionId, messageId, senderId: fromUser ? 'customer-1' : 'agent-1', senderType: fromUser ? 'user' : 'agent', body: `Message ${i}: the battery light is on and the engine only clicks.` },
    });
    if (i % 4 === 3) events.push({ type: 'MessagesRead', data: { sessionId, readerId: 'agent-1', readerType: 'agent', upToMessageId: messageId } });
  }
  events.push({ type: 'ChatSessionClosed', data: { sessionId, closedBy: 'agent-1' } });
  events.push({ type: 'ChatSessionRated', data: { sessionId, rating: 5 } });
  return { sessionId, events };
}

function stamped(events: ChatSessionEvent[]) {
  return stampEvents(events, {
    prevHash: GENESIS_HASH, occurredAt: new Date().toISOString(), actor: { id: 'agent-1', role: 'agent' },
    correlationId: randomUUID(), causationId: randomUUID(), eventIds: events.map(() => timeOrderedUuid()),
  });
}

/** Writes whole sessions (one append each, 8 writers) until the log holds `target` events. */
async function writeSessions(store: PostgresEventStore, target: number): Promise<{ events: number; sessions: number }> {
  let events = 0;
  let sessions = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (events < target) {
      const next = session(5 + Math.floor(Math.random() * 46));
      events += next.events.length;
      sessions++;
      await store.appendToStream(streamNameOf(next.sessionId), stamped(next.events), { expectedRevision: 'no_stream' });
    }
  }));
  return { events, sessions };
}

/**
 * Appends single events at `rate` per second (open loop: on a schedule, whatever the previous
 * appends' latency) to open sessions while the live projector runs, and times each event from
 * its append's return to its NOTIFY.
 */
async function measureLiveLag(url: string, store: PostgresEventStore, rate: number, seconds: number) {
  const runner = new ProjectionRunner({ databaseUrl: url, store, projections: [chatProjection] });
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  // An event's NOTIFY may come before its append's reply does: whichever is second measures.
  const committedAt = new Map<string, number>();
  const notifiedAt = new Map<string, number>();
  const lags: number[] = [];
  const measure = (eventId: string, committed: number, notified: number) => {
    lags.push(Math.max(0, notified - committed));
    committedAt.delete(eventId);
    notifiedAt.delete(eventId);
  };
  let notified = 0;
  let total = Number.POSITIVE_INFINITY;
  let allNotified: () => void = () => {};
  listener.on('notification', ({ payload }) => {
    const { eventId } = JSON.parse(payload!) as { eventId: string };
    const committed = committedAt.get(eventId);
    if (committed === undefined) notifiedAt.set(eventId, performance.now());
    else measure(eventId, committed, performance.now());
    if (++notified >= total) allNotified();
  });
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
  runner.start();

  // Sessions to write into, opened (and projected) before the clock starts.
  const open = Array.from({ length: 200 }, () => session(0));
  for (const { sessionId, events } of open) await store.appendToStream(streamNameOf(sessionId), stamped(events.slice(0, 2)), { expectedRevision: 'no_stream' });
  await new Promise<void>((resolve) => {
    allNotified = resolve;
    total = open.length * 2;
    if (notified >= total) resolve();
  });
  notifiedAt.clear();

  const count = rate * seconds;
  total = notified + count;
  const done = new Promise<void>((resolve) => (allNotified = resolve));
  const start = performance.now();
  const appends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const { sessionId } = open[i % open.length]!;
    const event = stampEvents([{
      type: 'ChatMessageSent',
      data: { sessionId, messageId: randomUUID(), senderId: 'customer-1', senderType: 'user', body: 'Is anyone there?' },
    }], { prevHash: GENESIS_HASH, occurredAt: new Date().toISOString(), actor: { id: 'customer-1', role: 'customer' }, correlationId: randomUUID(), causationId: randomUUID(), eventIds: [timeOrderedUuid()] });
    const { eventId } = event[0]!;
    appends.push(store.appendToStream(streamNameOf(sessionId), event, { expectedRevision: 'any' }).then(() => {
      const notifiedFirst = notifiedAt.get(eventId);
      if (notifiedFirst === undefined) committedAt.set(eventId, performance.now());
      else measure(eventId, performance.now(), notifiedFirst);
    }));
  }
  await Promise.all(appends);
  const achieved = count / ((performance.now() - start) / 1000);
  await done;
  await runner.stop();
  await listener.end();
  lags.sort((a, b) => a - b);
  const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: lags.at(-1) ?? Number.NaN, count: lags.length, rate: achieved };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
