-- A system line (join, leave, close) took its event's id as its message id, and the session's
-- customer reads it in the transcript: a message sent with that id then had no place in
-- `chat_messages` (keyed by session and message id), and the projection stopped at it on every
-- node. System lines now take their event's id as a UUID of version 8, which no message may
-- have (src/chat-session/chat-session.events.ts, `systemLineId`); the lines stored before take
-- theirs here, as a rebuild would give them.
UPDATE chat_messages
SET message_id = overlay(message_id::text PLACING '8' FROM 15 FOR 1)::uuid
WHERE sender_type = 'system' AND substr(message_id::text, 15, 1) <> '8';
