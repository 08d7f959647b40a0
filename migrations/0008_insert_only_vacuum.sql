-- The log and the transcripts only grow: an event is never changed or removed, a transcript row is
-- written once. Autovacuum still visits such a table, to mark its new pages all-visible (index-only
-- scans, like append_to_streams's look-up of a stream's revision, then skip the table) and to
-- freeze old rows before transaction ids wrap around. By default it comes once the table has grown
-- by a fifth since its last visit (`autovacuum_vacuum_insert_scale_factor` 0.2), so each visit is
-- a fifth of the table, and longer as the table grows, on the cores that serve the chat; the
-- pages it visits have long left `shared_buffers`. Every 10,000 rows instead, each visit finds
-- the pages of the last minute or so, whatever the table's size.
--
-- Measured with `npm run bench -- soak` (500 messages/s, 30 minutes; bench/NOTES.md, 2026-12-06,
-- day), one run each: by default, 12 visits of `events`, from 0.25 s in the first minutes to 2.7 s
-- after some 12 minutes and 8.3 s at minute 30, 26.5 s in all; with these settings, 30 visits of
-- 0.20 – 0.63 s, 8.4 s in all, and 41,041 pages read into `shared_buffers` instead of 109,074.
--
-- Storage parameters are not copied by `CREATE TABLE ... LIKE`: a rebuild's fresh tables take the
-- live ones' (read-models/rebuild.ts, through the function at the end).
ALTER TABLE events SET (autovacuum_vacuum_insert_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0);
ALTER TABLE chat_messages SET (autovacuum_vacuum_insert_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0);

-- Gives `p_to` the storage parameters of `p_from` (`WITH (...)`, `ALTER TABLE ... SET (...)`).
CREATE FUNCTION copy_storage_parameters(p_from regclass, p_to regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_options text[];
BEGIN
  SELECT reloptions INTO v_options FROM pg_class WHERE oid = p_from;
  IF v_options IS NOT NULL THEN
    EXECUTE format('ALTER TABLE %s SET (%s)', p_to, array_to_string(v_options, ', '));
  END IF;
END $$;
