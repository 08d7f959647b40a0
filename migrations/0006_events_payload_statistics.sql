-- No planner statistics for the events' payloads, `data` and `metadata`: no query filters or
-- sorts on them (the log is read by position, a stream by revision, an event by id), and
-- gathering them was most of what an ANALYZE of the log cost. ANALYZE sorts a sample of up to
-- 30,000 rows per column for its statistics, and jsonb compares slowly: under the benchmark's
-- load, with 62,000 events stored, an ANALYZE of `events` took 380 – 490 ms of a core with them
-- and 90 – 210 ms without (bench/NOTES.md, 2026-12-05, before midnight). Autovacuum runs one
-- each time the log has grown by a tenth, on the cores that serve the chat.
ALTER TABLE events
  ALTER COLUMN data SET STATISTICS 0,
  ALTER COLUMN metadata SET STATISTICS 0;
