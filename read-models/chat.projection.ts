import { LRUCache } from 'lru-cache';
import type { CommonQueryMethods } from 'slonik';
import type { RecordedEvent } from '../src/event-store/event-store.js';
import { CHAT_SESSION_CATEGORY } from '../src/chat-session/chat-session.events.js';
import { type ChatEvent, isChatEventType, parseChatEvent } from './chat-events.js';
import { foldChatEvents } from './chat-fold.js';
import { liveChatWrite, loadStoredChat, writeChatRows } from './chat-tables.js';
import type { SessionRow } from './chat-sessions.projector.js';
import { EventNotApplicable, type MemoryUsage, type Projection, type ProjectionMemory, type Tables } from './projection.js';

/** The tables of the chat read model, by role. */
export type ChatTables = Tables<'sessions' | 'messages'>;

/** The live chat tables (`migrations/0002_read_models.sql`). */
export const CHAT_TABLES: ChatTables = { sessions: 'chat_sessions', messages: 'chat_messages' };

/**
 * The chat read model: `chat_sessions` and `chat_messages`, from every `chat_session-*` stream.
 *
 * One projection for both tables, with one checkpoint: a session's unread counters are counted
 * from its message rows, so both must stand at the same point of the log, and a rebuild must
 * swap both at once.
 *
 * A batch is applied set-based: its events validated, the rows it touches read in a few
 * queries (a live run remembers the session rows it wrote, and reads them no more), the events
 * folded into rows in memory (`foldChatEvents`, pure), and the rows of both tables written in
 * one statement: in a live run, the very statement that moves the checkpoint (`prepare`).
 */
export const chatProjection: Projection<'sessions' | 'messages'> = {
  name: 'chat',
  category: CHAT_SESSION_CATEGORY,
  tables: CHAT_TABLES,
  handles: isChatEventType,
  async apply(connection, events, tables, memory) {
    const { known, unknown, rows } = await foldBatch(connection, events, tables, memory);
    const taken = await writeChatRows(connection, tables, rows);
    if (taken !== undefined) {
      const event = known.find((candidate) => candidate.position === taken.position)!;
      throw new EventNotApplicable(event.recorded, `message id ${taken.messageId} is taken in session ${taken.sessionId}`);
    }
    return { projected: known.map((event) => event.recorded), unknown };
  },
  async prepare(connection, events, memory) {
    const { known, unknown, rows } = await foldBatch(connection, events, CHAT_TABLES, memory);
    return { projected: known.map((event) => event.recorded), unknown, write: (guard) => liveChatWrite(rows, guard) };
  },
  remember: () => new ChatMemory(),
};

/**
 * A batch's events validated, and folded into the rows they write over what `tables` hold (the
 * session rows `memory` remembers are not read); the session rows are noted in `memory`.
 * @throws {EventNotApplicable} for the first event that is not valid or contradicts the rows.
 */
async function foldBatch(connection: CommonQueryMethods, events: readonly RecordedEvent[], tables: ChatTables, memory?: ProjectionMemory) {
  const { known, unknown } = parseBatch(events);
  const sessions = memory instanceof ChatMemory ? memory : undefined;
  const rows = foldChatEvents(known, await loadStoredChat(connection, tables, known, sessions?.row));
  sessions?.wrote(rows.sessions);
  return { known, unknown, rows };
}

/** How many session rows a live run remembers, the most recently written ones (some 5 MiB). */
const REMEMBERED_SESSIONS = 10_000;

/**
 * The session rows the live projection wrote (see `ProjectionMemory`): a batch of messages to
 * sessions it remembers reads nothing before it writes.
 */
class ChatMemory implements ProjectionMemory {
  readonly #rows = new LRUCache<string, SessionRow>({ max: REMEMBERED_SESSIONS });
  /** What the batch in flight wrote, remembered once it has committed. */
  #written: readonly SessionRow[] = [];

  readonly row = (sessionId: string): SessionRow | undefined => this.#rows.get(sessionId);

  wrote(rows: readonly SessionRow[]): void {
    this.#written = rows;
  }

  committed(): void {
    for (const row of this.#written) this.#rows.set(row.sessionId, row);
    this.#written = [];
  }

  forget(): void {
    this.#rows.clear();
    this.#written = [];
  }

  usage(): MemoryUsage {
    return { entries: this.#rows.size, capacity: REMEMBERED_SESSIONS };
  }
}

/**
 * The batch's events of the catalog, validated, and the count of the others (of a newer version
 * of the app: skipped).
 * @throws {EventNotApplicable} for the first event of the catalog that is not valid.
 */
function parseBatch(events: readonly RecordedEvent[]): { known: ChatEvent[]; unknown: number } {
  const known: ChatEvent[] = [];
  for (const event of events) {
    const parsed = parseChatEvent(event);
    if (parsed !== undefined) known.push(parsed);
  }
  return { known, unknown: events.length - known.length };
}
