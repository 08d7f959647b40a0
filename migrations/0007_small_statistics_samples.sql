-- ANALYZE samples 300 rows per point of the largest statistics target among a table's columns:
-- 30,000 rows, from as many pages, at PostgreSQL's default of 100. Autovacuum analyzes the log and
-- the transcripts each time they have grown by a tenth, on the cores that serve the chat, and
-- both grow with every message. Their queries look rows up by key (an event by id, a stream or a
-- transcript by revision, the log by position), which a coarser histogram does not change: on a
-- log of 300,000 events, EXPLAIN gave the same plans with either target, but for a transcript's
-- page, an index scan instead of a bitmap scan and a sort. A target of 10 samples 3,000 rows.
--
-- Measured with `npm run bench -- soak --minutes 12 --warmup-seconds 60` (500 messages/s;
-- bench/NOTES.md, 2026-12-06, day), one run each: ten automatic ANALYZEs of `events` ran for 2.1 s
-- in all instead of 11.8, ten of `chat_messages` 1.4 s instead of 4.6; over the run, 20,018 pages of
-- `events` were read into PostgreSQL's buffers instead of 147,568.
--
-- A column added to these tables later takes the default, and with it the 30,000-row sample,
-- unless its migration sets its target too. A rebuild's fresh tables take the live ones' targets
-- (read-models/rebuild.ts, through the function at the end). SET STATISTICS locks a table against
-- other schema changes and VACUUM only: the chat reads and writes on while this runs.
ALTER TABLE events
  ALTER COLUMN position SET STATISTICS 10,
  ALTER COLUMN transaction_id SET STATISTICS 10,
  ALTER COLUMN stream_name SET STATISTICS 10,
  ALTER COLUMN category SET STATISTICS 10,
  ALTER COLUMN revision SET STATISTICS 10,
  ALTER COLUMN event_id SET STATISTICS 10,
  ALTER COLUMN event_type SET STATISTICS 10,
  ALTER COLUMN created_at SET STATISTICS 10;

ALTER TABLE chat_messages
  ALTER COLUMN message_id SET STATISTICS 10,
  ALTER COLUMN session_id SET STATISTICS 10,
  ALTER COLUMN sender_type SET STATISTICS 10,
  ALTER COLUMN sender_id SET STATISTICS 10,
  ALTER COLUMN message_content SET STATISTICS 10,
  ALTER COLUMN message_type SET STATISTICS 10,
  ALTER COLUMN attachment_url SET STATISTICS 10,
  ALTER COLUMN "timestamp" SET STATISTICS 10,
  ALTER COLUMN revision SET STATISTICS 10,
  ALTER COLUMN position SET STATISTICS 10;

-- Sets the statistics target of each column of `p_to` to that of its namesake in `p_from`, where
-- one is set: `CREATE TABLE ... (LIKE ... INCLUDING ALL)` copies no statistics targets.
CREATE FUNCTION copy_statistics_targets(p_from regclass, p_to regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_column record;
BEGIN
  FOR v_column IN
    SELECT attname, attstattarget FROM pg_attribute
    WHERE attrelid = p_from AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0
    ORDER BY attnum
  LOOP
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', p_to, v_column.attname, v_column.attstattarget);
  END LOOP;
END $$;
