import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { timeOrderedUuid } from '../src/chat-session/event-ids.js';
import { createDatabasePool } from '../src/database/pool.js';
import { PostgresEventStore } from '../src/event-store/postgres-event-store.js';
import { freshEmbeddedDatabase } from './embedded.js';

/**
 * The PostgreSQL event store on the embedded database: single-event appends to distinct streams
 * from concurrent writers, then reading the whole log from the start.
 */
export async function eventStoreBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      writers: { type: 'string', default: '16' },
      appends: { type: 'string', default: '40000' },
      'log-size': { type: 'string', default: '100000' },
      page: { type: 'string', default: '5000' },
    },
  });
  const writers = Number(values.writers);
  const appends = Number(values.appends);
  const logSize = Number(values['log-size']);
  const page = Number(values.page);
  const database = await freshEmbeddedDatabase();
  const pool = await createDatabasePool(database.url, { maximumPoolSize: writers + 2 });
  const store = new PostgresEventStore(pool);
  try {
    console.log(`postgres event store on embedded PostgreSQL, ${writers} writers`);
    const appendRate = await measureAppends(store, writers, appends);
    console.log(`appends:   ${fmt(appendRate)} appends/s (${appends} single-event appends to distinct streams)`);
    await fillLog(store, writers, logSize - appends);
    // The first read of freshly written rows also sets their hint bits (writes); a log that has
    // been read or vacuumed since, as any log a rebuild reads in practice, reads as the second.
    for (const pass of ['first read', 'second read']) {
      const readRate = await measureReadAll(store, logSize, page);
      console.log(`read all:  ${fmt(readRate)} events/s (${pass} of ${logSize} events from the start, pages of ${page})`);
    }
  } finally {
    await pool.end();
    await database.stop();
  }
}

async function measureAppends(store: PostgresEventStore, writers: number, total: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < total) {
        next++;
        await store.appendToStream(`bench-${randomUUID()}`, [benchEvent()], { expectedRevision: 'no_stream' });
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** Brings the log to its size fast: 100-event appends. */
async function fillLog(store: PostgresEventStore, writers: number, count: number): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (left > 0) {
        const size = Math.min(100, left);
        left -= size;
        await store.appendToStream(`bench-${randomUUID()}`, Array.from({ length: size }, benchEvent), { expectedRevision: 'no_stream' });
      }
    }),
  );
}

async function measureReadAll(store: PostgresEventStore, expected: number, pageSize: number): Promise<number> {
  const started = performance.now();
  let read = 0;
  let after;
  for (;;) {
    const page = await store.readAll({ after, maxCount: pageSize });
    if (page.length === 0) break;
    read += page.length;
    after = page[page.length - 1]!.logPosition;
  }
  if (read !== expected) throw new Error(`read ${read} events, expected ${expected}`);
  return read / ((performance.now() - started) / 1000);
}

/** A message's event, its id time-ordered as the write side makes them. */
function benchEvent() {
  const eventId = timeOrderedUuid();
  return {
    eventId,
    type: 'ChatMessageSent',
    data: { sessionId: randomUUID(), messageId: randomUUID(), senderId: 'customer-1', senderType: 'user', body: 'Hello, my car has a flat tyre near the airport.' },
    metadata: { eventId, occurredAt: new Date().toISOString(), actor: { id: 'customer-1', role: 'customer' } },
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
