-- Group commit: appends to several streams in one statement and one transaction, so that a
-- process under load pays for one round trip and one WAL flush per group instead of per append.
--
-- Entry i appends to p_streams[i], if that stream is at p_expected[i] ('no_stream',
-- 'stream_exists', 'any' or a number), the next p_counts[i] events of the flat event arrays.
-- A row is returned per entry (entry: i):
--   'appended'  the events were written; next_revision is the stream's new revision;
--   'stored'    every event id is stored in that stream already (a retried append): nothing was
--               written; next_revision is the stream's revision after them;
--   'wrong'     the stream was not at the expected revision; next_revision is where it is
--               (-1: no stream); nothing was written for this entry;
--   'repeats'   some, not all, of the event ids are stored in that stream; nothing written.
-- The entries are independent: one refused does not refuse the others. An error (an event id
-- stored in another stream violates events_event_id_key) fails the whole statement; callers
-- then append the entries one at a time to tell whose it was.
--
-- Every stream's advisory lock is taken, in key order (two groups never wait for each other in
-- a cycle), before the transaction has an id, and the events are written after: so a stream's
-- later revisions always have larger transaction ids, and readers in (transaction_id, position)
-- order see each stream's events in revision order.
CREATE FUNCTION append_to_streams(
  p_streams text[], p_categories text[], p_expected text[], p_counts int[],
  p_event_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[]
) RETURNS TABLE (entry int, next_revision bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
  v_key     bigint;
  v_first   int := 1;
  v_end     int;
  v_ids     uuid[];
  v_stored  int;
  v_last    bigint;
  v_current bigint;
  v_wrong   boolean;
BEGIN
  FOR v_key IN SELECT DISTINCT hashtextextended(s, 0) FROM unnest(p_streams) AS s ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(v_key);
  END LOOP;

  FOR i IN 1 .. cardinality(p_streams) LOOP
    entry := i;
    v_end := v_first + p_counts[i] - 1;
    v_ids := p_event_ids[v_first:v_end];

    SELECT count(*), max(e.revision) INTO v_stored, v_last
      FROM events e WHERE e.event_id = ANY (v_ids) AND e.stream_name = p_streams[i];
    IF v_stored = p_counts[i] THEN
      next_revision := v_last;
      outcome := 'stored';
    ELSIF v_stored > 0 THEN
      next_revision := NULL;
      outcome := 'repeats';
    ELSE
      SELECT coalesce(max(e.revision), -1) INTO v_current FROM events e WHERE e.stream_name = p_streams[i];
      v_wrong := CASE p_expected[i]
        WHEN 'any' THEN false
        WHEN 'no_stream' THEN v_current <> -1
        WHEN 'stream_exists' THEN v_current = -1
        ELSE v_current <> p_expected[i]::bigint
      END;
      IF v_wrong THEN
        next_revision := v_current;
        outcome := 'wrong';
      ELSE
        INSERT INTO events (stream_name, category, revision, event_id, event_type, data, metadata)
        SELECT p_streams[i], p_categories[i], v_current + e.ord, e.id, e.type, e.data, e.metadata
          FROM unnest(v_ids, p_types[v_first:v_end], p_data[v_first:v_end], p_metadata[v_first:v_end])
            WITH ORDINALITY AS e(id, type, data, metadata, ord);
        next_revision := v_current + p_counts[i];
        outcome := 'appended';
      END IF;
    END IF;
    RETURN NEXT;
    v_first := v_end + 1;
  END LOOP;
END $$;

-- The one-stream append of 0001, now a group of one (kept for processes of the previous release
-- while a rolling upgrade runs): same arguments, result and errors (PA409, PA422) as before.
CREATE OR REPLACE FUNCTION append_to_stream(
  p_stream text, p_category text, p_expected text,
  p_event_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_result record;
BEGIN
  SELECT * INTO v_result FROM append_to_streams(
    ARRAY[p_stream], ARRAY[p_category], ARRAY[p_expected], ARRAY[cardinality(p_event_ids)],
    p_event_ids, p_types, p_data, p_metadata);
  IF v_result.outcome = 'wrong' THEN
    RAISE EXCEPTION 'stream % is at revision %', p_stream, v_result.next_revision
      USING ERRCODE = 'PA409', DETAIL = v_result.next_revision::text;
  END IF;
  IF v_result.outcome = 'repeats' THEN
    RAISE EXCEPTION 'append to % repeats stored event ids', p_stream USING ERRCODE = 'PA422';
  END IF;
  RETURN v_result.next_revision;
END $$;
