import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { MemoryUsage } from '../../read-models/projection.js';
import { CONFIG, type Config } from '../config.js';
import { EVENT_STORE, type EventStore, type RecordedEvent } from '../event-store/event-store.js';
import { type ChatSessionState, evolve, initialState } from './chat-session.decider.js';
import { type ChatSessionEvent, type EventMetadata, streamNameOf } from './chat-session.events.js';
import { GENESIS_HASH } from './hash-chain.js';

/**
 * A session's state as of a stream revision, the hash the next event chains from, and the time
 * the next event may not be stamped before.
 */
export interface SessionSnapshot {
  readonly state: ChatSessionState;
  /** The stream's last revision; undefined while the stream does not exist. */
  readonly revision: bigint | undefined;
  readonly lastHash: string;
  /** When the stream's last event was stamped (its `occurredAt`); undefined while the stream does not exist. */
  readonly lastOccurredAt: string | undefined;
}

const EMPTY: SessionSnapshot = { state: initialState(), revision: undefined, lastHash: GENESIS_HASH, lastOccurredAt: undefined };

/**
 * Loads sessions from the event store, keeping the most recent ones in memory by revision: the
 * hot path appends with the cached revision and reads nothing. When another writer got there
 * first, the append fails and `load(…, { fresh: true })` reads only the events after the cached
 * revision. One per process: the write side and the gateway's access checks share it.
 *
 * The cache holds open sessions only, bounded in message ids (a session's state holds every one,
 * for idempotent sends) plus one per session. At the default bound of 500,000
 * (`SESSION_CACHE_MESSAGE_IDS`), the ids take some 15 MB for a thousand sessions of 500 messages
 * and 21 MB for ten thousand of 50, outside the JavaScript heap (`message-ids.ts`). A session
 * pushed out is read from the event store, whole, at its next command. When the open sessions in
 * use hold more than the bound and take turns, the one pushed out is always the next one used, and
 * every command reads its session's whole stream: at 50,000 ids, a thousand sessions of 50
 * messages, that saturated the server within a minute at 1,000 messages a second
 * (`bench/NOTES.md`).
 */
@Injectable()
export class ChatSessionRepository {
  private readonly cache: LRUCache<string, SessionSnapshot>;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, @Inject(CONFIG) config: Config) {
    this.cache = new LRUCache({
      maxSize: config.sessionCacheMessageIds,
      sizeCalculation: ({ state }) => 1 + (state.status === 'none' ? 0 : state.messageIds.length),
    });
  }

  /** Whether `load` would answer from memory rather than from the event store. */
  holds(sessionId: string): boolean {
    return this.cache.has(sessionId);
  }

  async load(sessionId: string, options: { fresh?: boolean } = {}): Promise<SessionSnapshot> {
    const cached = this.cache.get(sessionId);
    if (cached && !options.fresh) return cached;
    const from = cached ?? EMPTY;
    const newer = await this.store.readStream(streamNameOf(sessionId), {
      fromRevision: from.revision === undefined ? 0n : from.revision + 1n,
    });
    const snapshot = newer.reduce(applyRecorded, from);
    this.remember(sessionId, snapshot);
    return snapshot;
  }

  /**
   * Records a snapshot (an append of ours produced it), unless the cache has a later one already.
   * A closed session is forgotten instead: the few commands that follow the close (the rating,
   * late read receipts) read its stream, and the cache holds the sessions in use, not the history.
   * So is a session that does not exist: anyone may ask for any id (a SUBSCRIBE to a made-up
   * session reads its empty stream), and such ids would push the sessions in use out.
   */
  remember(sessionId: string, snapshot: SessionSnapshot): void {
    if (snapshot.revision === undefined) return;
    const cached = this.cache.peek(sessionId);
    if (cached?.revision !== undefined && cached.revision > snapshot.revision) return;
    if (snapshot.state.status === 'closed') this.cache.delete(sessionId);
    else this.cache.set(sessionId, snapshot);
  }

  /** How full the cache is, in message ids plus one per session, for `/metrics`. */
  usage(): MemoryUsage {
    return { entries: this.cache.calculatedSize, capacity: this.cache.maxSize };
  }
}

/** The snapshot after one more event at `revision`, stamped with `metadata`. */
export function advance(
  snapshot: SessionSnapshot,
  event: ChatSessionEvent,
  revision: bigint,
  { hash, occurredAt }: Pick<EventMetadata, 'hash' | 'occurredAt'>,
): SessionSnapshot {
  return { state: evolve(snapshot.state, event), revision, lastHash: hash, lastOccurredAt: occurredAt };
}

function applyRecorded(snapshot: SessionSnapshot, recorded: RecordedEvent): SessionSnapshot {
  const event = { type: recorded.type, data: recorded.data } as ChatSessionEvent;
  return advance(snapshot, event, recorded.revision, recorded.metadata as EventMetadata);
}
