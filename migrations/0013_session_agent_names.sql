-- The name of the agent a session is with (`AgentJoined`'s `agentName`), beside `agent_id` and
-- cleared with it when the agent hands the session back: `GET /api/sessions` gives it, and the
-- agent console names who took a chat after a reload as it does live (it showed the agent's id).
ALTER TABLE chat_sessions ADD COLUMN agent_name text;

-- The sessions projected before take the name a rebuild would give them: the one their agent
-- last joined with, as its join line says it ("Ada joined": read-models/chat-messages.projector.ts).
UPDATE chat_sessions s
SET agent_name = (
  SELECT left(m.message_content, -length(' joined')) FROM chat_messages m
  WHERE m.session_id = s.session_id AND m.sender_id = s.agent_id AND m.message_type = 'join'
    AND right(m.message_content, length(' joined')) = ' joined'
  ORDER BY m.revision DESC LIMIT 1)
WHERE s.agent_id IS NOT NULL;

-- `write_live_chat_rows` (migration 0005) with the new column. A node of the release before, still
-- projecting during a rolling upgrade, writes no name: the one stored is kept while the session
-- stays with the same agent, and a new agent's name is left unknown until this release writes it.
CREATE OR REPLACE FUNCTION write_live_chat_rows(p_sessions json, p_lines json) RETURNS bigint LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_sessions bigint;
  v_lines    bigint;
BEGIN
  INSERT INTO chat_sessions AS stored (
    session_id, user_id, agent_id, agent_name, subject, start_time, end_time, session_status, rating, rating_comment,
    message_count, last_message_at, last_message_preview, unread_for_user, unread_for_agent, revision)
  SELECT row.session_id, row.user_id, row.agent_id, row.agent_name, row.subject, row.start_time, row.end_time, row.session_status,
    row.rating, row.rating_comment, row.message_count, row.last_message_at, row.last_message_preview,
    row.unread_for_user, row.unread_for_agent, row.revision
  FROM json_populate_recordset(NULL::chat_sessions, p_sessions) AS row
  ON CONFLICT (session_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, agent_id = EXCLUDED.agent_id,
    agent_name = CASE WHEN EXCLUDED.agent_name IS NULL AND EXCLUDED.agent_id = stored.agent_id THEN stored.agent_name
                      ELSE EXCLUDED.agent_name END,
    subject = EXCLUDED.subject,
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
