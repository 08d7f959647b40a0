-- The read models of the chat (DESIGN.md, "Read models"), written only by the projectors of
-- read-models/ and queried by the HTTP API.
--
-- No foreign keys between these tables: a rebuild (read-models/rebuild.ts) builds fresh copies
-- of both beside them (CREATE TABLE ... LIKE ... INCLUDING ALL) and swaps them in by renaming,
-- and a foreign key would stay bound to the table it was created on.

CREATE TABLE chat_sessions (
  session_id           uuid        PRIMARY KEY,
  user_id              text        NOT NULL,
  agent_id             text,
  subject              text        NOT NULL,
  start_time           timestamptz NOT NULL,
  end_time             timestamptz,
  session_status       text        NOT NULL CHECK (session_status IN ('waiting', 'active', 'closed')),
  rating               smallint    CHECK (rating BETWEEN 1 AND 5),
  rating_comment       text,
  -- The participants' messages; system lines (join, leave, close) are not counted.
  message_count        integer     NOT NULL DEFAULT 0,
  last_message_at      timestamptz,
  last_message_preview text,
  unread_for_user      integer     NOT NULL DEFAULT 0 CHECK (unread_for_user >= 0),
  unread_for_agent     integer     NOT NULL DEFAULT 0 CHECK (unread_for_agent >= 0),
  -- The stream revision of the last event applied to the row: the projector's idempotency guard.
  revision             bigint      NOT NULL
);

-- Session lists, paged by (start_time, session_id) in either direction: all, by status, by customer.
CREATE INDEX chat_sessions_by_start ON chat_sessions (start_time, session_id);
CREATE INDEX chat_sessions_by_status ON chat_sessions (session_status, start_time, session_id);
CREATE INDEX chat_sessions_by_user ON chat_sessions (user_id, start_time, session_id);

CREATE TABLE chat_messages (
  -- The client's messageId for a message; the event id for a system line.
  message_id      uuid        NOT NULL,
  session_id      uuid        NOT NULL,
  sender_type     text        NOT NULL CHECK (sender_type IN ('user', 'agent', 'system')),
  sender_id       text        NOT NULL,
  message_content text        NOT NULL,
  message_type    text        NOT NULL CHECK (message_type IN ('text', 'join', 'leave', 'close')),
  attachment_url  text,
  "timestamp"     timestamptz NOT NULL,
  -- The stream revision and the log position of the event the row comes from.
  revision        bigint      NOT NULL,
  position        bigint      NOT NULL,
  -- Message ids are chosen by clients and only unique within a session: keyed by session, a
  -- reused id in another session is a different message, not a collision.
  PRIMARY KEY (session_id, message_id),
  CHECK ((sender_type = 'system') = (message_type <> 'text'))
);

-- A session's transcript in order, paged by revision.
CREATE UNIQUE INDEX chat_messages_by_revision ON chat_messages (session_id, revision);

-- Where each projection has got to in the event log: the LogPosition of the last event it
-- projected (see src/event-store/event-store.ts), written in the same transaction as its rows.
CREATE TABLE projection_checkpoints (
  projection_name  text        PRIMARY KEY,
  commit_position  bigint      NOT NULL,
  prepare_position bigint      NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
