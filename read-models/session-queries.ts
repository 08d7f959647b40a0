import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';

/** A row of `chat_sessions` as the HTTP API shows it (DESIGN.md, "HTTP API"). */
export interface SessionView {
  sessionId: string;
  userId: string;
  agentId: string | null;
  /**
   * The name the agent joined with; null with no agent, or where it is not known: a join that a
   * node of the release before projected during a rolling upgrade, or one migration 0013 found no
   * join line of.
   */
  agentName: string | null;
  subject: string | null;
  status: 'waiting' | 'active' | 'closed';
  startTime: string;
  endTime: string | null;
  rating: number | null;
  ratingComment: string | null;
  messageCount: number;
  lastMessageAt: string | null;
  lastMessagePreview: string | null;
  unreadForUser: number;
  unreadForAgent: number;
  revision: number;
}

/** A row of `chat_messages` as the HTTP API shows it. */
export interface MessageView {
  messageId: string;
  sessionId: string;
  senderType: 'user' | 'agent' | 'system';
  senderId: string | null;
  content: string;
  messageType: string;
  attachmentUrl: string | null;
  timestamp: string;
  revision: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const sessionRow = z.object({
  session_id: z.string(),
  user_id: z.string(),
  agent_id: z.string().nullable(),
  agent_name: z.string().nullable(),
  subject: z.string().nullable(),
  session_status: z.enum(['waiting', 'active', 'closed']),
  start_time: z.date(),
  end_time: z.date().nullable(),
  rating: z.number().nullable(),
  rating_comment: z.string().nullable(),
  message_count: z.number(),
  last_message_at: z.date().nullable(),
  last_message_preview: z.string().nullable(),
  unread_for_user: z.number(),
  unread_for_agent: z.number(),
  revision: z.bigint(),
  start_time_exact: z.string(),
});

const messageRow = z.object({
  message_id: z.string(),
  session_id: z.string(),
  sender_type: z.enum(['user', 'agent', 'system']),
  sender_id: z.string().nullable(),
  message_content: z.string(),
  message_type: z.string(),
  attachment_url: z.string().nullable(),
  timestamp: z.date(),
  revision: z.bigint(),
});

const countRow = z.object({ count: z.number() });

const SESSION_COLUMNS = sql.fragment`
  session_id, user_id, agent_id, agent_name, subject, session_status, start_time, end_time, rating,
  rating_comment, message_count::int AS message_count, last_message_at, last_message_preview,
  unread_for_user::int AS unread_for_user, unread_for_agent::int AS unread_for_agent, revision,
  to_json(start_time) #>> '{}' AS start_time_exact`;

/**
 * Where a session list resumes: after this (start time, id) in newest-first order. The time is
 * PostgreSQL's own text of it, to the microsecond (a `Date` would round it to milliseconds).
 */
export interface SessionCursor {
  readonly startTime: string;
  readonly sessionId: string;
}

export interface SessionListQuery {
  /** Only this customer's sessions; unset: everyone's. */
  readonly userId?: string;
  readonly status?: SessionView['status'];
  readonly limit: number;
  readonly after?: SessionCursor;
}

/** Queries on the projected tables; they answer from whatever the projector has applied. */
export class SessionQueries {
  constructor(private readonly pool: DatabasePool) {}

  /** Sessions, newest first, one page. */
  async list(query: SessionListQuery): Promise<{ items: SessionView[]; next: SessionCursor | null }> {
    const conditions = [
      query.userId === undefined ? null : sql.fragment`user_id = ${query.userId}`,
      query.status === undefined ? null : sql.fragment`session_status = ${query.status}`,
      query.after === undefined ? null
        : sql.fragment`(start_time, session_id) < (${query.after.startTime}::timestamptz, ${query.after.sessionId}::uuid)`,
    ].filter((condition) => condition !== null);
    const rows = await this.pool.any(sql.type(sessionRow)`
      SELECT ${SESSION_COLUMNS} FROM chat_sessions
      ${conditions.length === 0 ? sql.fragment`` : sql.fragment`WHERE ${sql.join(conditions, sql.fragment` AND `)}`}
      ORDER BY start_time DESC, session_id DESC
      LIMIT ${query.limit + 1}`);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(toSessionView),
      next: rows.length > query.limit && last ? { startTime: last.start_time_exact, sessionId: last.session_id } : null,
    };
  }

  /** How many sessions of the customer `userId` are not closed. */
  async openSessionCount(userId: string): Promise<number> {
    return this.pool.oneFirst(sql.type(countRow)`
      SELECT count(*)::int AS count FROM chat_sessions WHERE user_id = ${userId} AND session_status <> 'closed'`);
  }

  async get(sessionId: string): Promise<SessionView | null> {
    const row = await this.pool.maybeOne(sql.type(sessionRow)`
      SELECT ${SESSION_COLUMNS} FROM chat_sessions WHERE session_id = ${sessionId}`);
    return row === null ? null : toSessionView(row);
  }

  /** A session's messages (system lines included) in revision order, after `afterRevision`. */
  async messages(sessionId: string, options: { afterRevision?: bigint; limit: number }): Promise<Page<MessageView>> {
    const rows = await this.pool.any(sql.type(messageRow)`
      SELECT message_id, session_id, sender_type, sender_id, message_content, message_type,
             attachment_url, timestamp, revision
      FROM chat_messages
      WHERE session_id = ${sessionId}
        ${options.afterRevision === undefined ? sql.fragment`` : sql.fragment`AND revision > ${options.afterRevision}`}
      ORDER BY revision
      LIMIT ${options.limit + 1}`);
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      items: page.map(toMessageView),
      nextCursor: rows.length > options.limit && last ? String(last.revision) : null,
    };
  }
}

function toSessionView(row: z.infer<typeof sessionRow>): SessionView {
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    agentId: row.agent_id,
    agentName: row.agent_name,
    subject: row.subject,
    status: row.session_status,
    startTime: row.start_time.toISOString(),
    endTime: row.end_time?.toISOString() ?? null,
    rating: row.rating,
    ratingComment: row.rating_comment,
    messageCount: row.message_count,
    lastMessageAt: row.last_message_at?.toISOString() ?? null,
    lastMessagePreview: row.last_message_preview,
    unreadForUser: row.unread_for_user,
    unreadForAgent: row.unread_for_agent,
    revision: Number(row.revision),
  };
}

function toMessageView(row: z.infer<typeof messageRow>): MessageView {
  return {
    messageId: row.message_id,
    sessionId: row.session_id,
    senderType: row.sender_type,
    senderId: row.sender_id,
    content: row.message_content,
    messageType: row.message_type,
    attachmentUrl: row.attachment_url,
    timestamp: row.timestamp.toISOString(),
    revision: Number(row.revision),
  };
}
