-- The live chat projection's writes with plans PostgreSQL keeps (read-models/chat-tables.ts,
-- `liveChatWrite`). In the statement of each live batch, which moves the checkpoint, the two
-- inserts were parsed, analysed and planned again at every batch (slonik prepares no statement):
-- about half of what that statement cost PostgreSQL under load.
--
-- Writes a batch's rows to the live tables: its sessions' rows (each only over an older row)
-- and its lines, all new: a line whose place is taken fails the call, which then writes nothing.
-- The rows come as JSON arrays of objects keyed by column name. Returns how many rows it wrote.
--
-- The same rows as chat-tables.ts writes with `upsertSessions` and `insertLines`, which a
-- rebuild uses for its fresh tables, whose names this function cannot take without planning at
-- every call (rebuild.int.spec.ts compares the two).
CREATE FUNCTION write_live_chat_rows(p_sessions json, p_lines json) RETURNS bigint LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_sessions bigint;
  v_lines    bigint;
BEGIN
  INSERT INTO chat_sessions AS stored (
    session_id, user_id, agent_id, subject, start_time, end_time, session_status, rating, rating_comment,
    message_count, last_message_at, last_message_preview, unread_for_user, unread_for_agent, revision)
  SELECT row.session_id, row.user_id, row.agent_id, row.subject, row.start_time, row.end_time, row.session_status,
    row.rating, row.rating_comment, row.message_count, row.last_message_at, row.last_message_preview,
    row.unread_for_user, row.unread_for_agent, row.revision
  FROM json_populate_recordset(NULL::chat_sessions, p_sessions) AS row
  ON CONFLICT (session_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, agent_id = EXCLUDED.agent_id, subject = EXCLUDED.subject,
    start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time, session_status = EXCLUDED.session_status,
    rating = EXCLUDED.rating, rating_comment = EXCLUDED.rating_comment, message_count = EXCLUDED.message_count,
    last_message_at = EXCLUDED.last_message_at, last_message_preview = EXCLUDED.last_message_preview,
    unread_for_user = EXCLUDED.unread_for_user, unread_for_agent = EXCLUDED.unread_for_agent, revision = EXCLUDED.revision
  WHERE stored.revision < EXCLUDED.revision;
  GET DIAGNOSTICS v_sessions = ROW_COUNT;

  INSERT INTO chat_messages (
    message_id, session_id, sender_type, sender_id, message_content, message_type, attachment_url, "timestamp", revision, position)
  SELECT line.message_id, line.session_id, line.sender_type, line.sender_id, line.message_content, line.message_type,
    line.attachment_url, line."timestamp", line.revision, line.position
  FROM json_populate_recordset(NULL::chat_messages, p_lines) AS line;
  GET DIAGNOSTICS v_lines = ROW_COUNT;

  RETURN v_sessions + v_lines;
END $$;
