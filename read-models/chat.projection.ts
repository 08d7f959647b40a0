import type { RecordedEvent } from '../src/event-store/event-store.js';
import { CHAT_SESSION_CATEGORY } from '../src/chat-session/chat-session.events.js';
import { type ChatEvent, isChatEventType, parseChatEvent } from './chat-events.js';
import { foldChatEvents } from './chat-fold.js';
import { loadStoredChat, writeChatRows } from './chat-tables.js';
import { EventNotApplicable, type Projection, type Tables } from './projection.js';

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
 * queries, the events folded into rows in memory (`foldChatEvents`, pure), and the rows of both
 * tables written in one statement.
 */
export const chatProjection: Projection<'sessions' | 'messages'> = {
  name: 'chat',
  category: CHAT_SESSION_CATEGORY,
  tables: CHAT_TABLES,
  handles: isChatEventType,
  async apply(connection, events, tables) {
    const { known, unknown } = parseBatch(events);
    const rows = foldChatEvents(known, await loadStoredChat(connection, tables, known));
    const taken = await writeChatRows(connection, tables, rows);
    if (taken !== undefined) {
      const event = known.find((candidate) => candidate.position === taken.position)!;
      throw new EventNotApplicable(event.recorded, `message id ${taken.messageId} is taken in session ${taken.sessionId}`);
    }
    return { projected: known.map((event) => event.recorded), unknown };
  },
};

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
