import { CHAT_SESSION_CATEGORY } from '../src/chat-session/chat-session.events.js';
import { parseChatEvent } from './chat-events.js';
import { projectMessageRow } from './chat-messages.projector.js';
import { projectSessionRow } from './chat-sessions.projector.js';
import type { Projection, Tables } from './projection.js';

/** The tables of the chat read model, by role. */
export type ChatTables = Tables<'sessions' | 'messages'>;

/** The live chat tables (`migrations/0002_read_models.sql`). */
export const CHAT_TABLES: ChatTables = { sessions: 'chat_sessions', messages: 'chat_messages' };

/**
 * The chat read model: `chat_sessions` and `chat_messages`, from every `chat_session-*` stream.
 *
 * One projection for both tables, with one checkpoint: a session's unread counters are counted
 * from its message rows, so both must stand at the same point of the log, and a rebuild must
 * swap both at once. Each event's message line is written before its session row.
 */
export const chatProjection: Projection<'sessions' | 'messages'> = {
  name: 'chat',
  category: CHAT_SESSION_CATEGORY,
  tables: CHAT_TABLES,
  async project(connection, recorded, tables) {
    const event = parseChatEvent(recorded);
    if (event === undefined) return 'unknown';
    await projectMessageRow(connection, event, tables);
    await projectSessionRow(connection, event, tables);
    return 'projected';
  },
};
