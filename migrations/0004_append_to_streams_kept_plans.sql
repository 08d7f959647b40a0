-- append_to_streams (0003), same arguments and results, in three statements whatever the size
-- of the group, each with one plan kept for all calls: the check below, the streams' locks, then
-- one statement that reads what each entry needs, writes the appended events and returns the
-- outcomes. Under load (`npm run bench -- stomp`, 1,000 messages/s), the function of 0003 spent
-- a fifth of its time planning (perf): plpgsql planned each of its four statements again for
-- each entry, as its plan cache preferred a custom plan per call to the generic one.
--
-- A stream may appear only once in a call (PA400 otherwise): an entry's outcome depends on the
-- stream as it stood before the call. Callers that group appends keep a stream's second append
-- for their next call; a caller of the previous release that sends one anyway has its group
-- refused as a whole, and appends it again one append at a time, as after any error.
--
-- Whether an entry's event ids are stored already is asked of the event_id index alone: a plan
-- that looked them up by stream would read the whole stream at every append.
CREATE OR REPLACE FUNCTION append_to_streams(
  p_streams text[], p_categories text[], p_expected text[], p_counts int[],
  p_event_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[]
) RETURNS TABLE (entry int, next_revision bigint, outcome text) LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF cardinality(p_streams) <> (SELECT count(DISTINCT s) FROM unnest(p_streams) AS s) THEN
    RAISE EXCEPTION 'append_to_streams: a stream appears more than once' USING ERRCODE = 'PA400';
  END IF;

  PERFORM pg_advisory_xact_lock(keys.key)
    FROM (SELECT DISTINCT hashtextextended(s, 0) AS key FROM unnest(p_streams) AS s ORDER BY 1) AS keys;

  RETURN QUERY
  WITH entries AS MATERIALIZED (
    SELECT x.entry::int AS entry, x.stream, x.category, x.expected, x.n_events,
      (sum(x.n_events) OVER (ORDER BY x.entry))::int AS last_event
    FROM unnest(p_streams, p_categories, p_expected, p_counts) WITH ORDINALITY AS x(stream, category, expected, n_events, entry)
  ),
  decided AS MATERIALIZED (
    SELECT e.entry, e.stream, e.category, e.n_events, e.last_event - e.n_events + 1 AS first_event, e.last_event,
      stored.n_stored, stored.last_stored, current.revision AS current_revision,
      CASE
        WHEN stored.n_stored = e.n_events THEN 'stored'
        WHEN stored.n_stored > 0 THEN 'repeats'
        WHEN CASE e.expected
          WHEN 'any' THEN false
          WHEN 'no_stream' THEN current.revision <> -1
          WHEN 'stream_exists' THEN current.revision = -1
          ELSE current.revision <> e.expected::bigint
        END THEN 'wrong'
        ELSE 'appended'
      END AS outcome
    FROM entries e
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE ev.stream_name = e.stream) AS n_stored,
        max(ev.revision) FILTER (WHERE ev.stream_name = e.stream) AS last_stored
      FROM events ev WHERE ev.event_id = ANY (p_event_ids[e.last_event - e.n_events + 1 : e.last_event])) AS stored
    CROSS JOIN LATERAL (
      SELECT coalesce(max(ev.revision), -1) AS revision FROM events ev WHERE ev.stream_name = e.stream) AS current
  ),
  appended AS (
    INSERT INTO events (stream_name, category, revision, event_id, event_type, data, metadata)
    SELECT d.stream, d.category, d.current_revision + n.ord, n.id, n.type, n.data, n.metadata
    FROM decided d
    CROSS JOIN LATERAL unnest(
      p_event_ids[d.first_event : d.last_event], p_types[d.first_event : d.last_event],
      p_data[d.first_event : d.last_event], p_metadata[d.first_event : d.last_event]
    ) WITH ORDINALITY AS n(id, type, data, metadata, ord)
    WHERE d.outcome = 'appended'
    ORDER BY d.entry, n.ord
  )
  SELECT d.entry,
    CASE d.outcome
      WHEN 'stored' THEN d.last_stored
      WHEN 'wrong' THEN d.current_revision
      WHEN 'appended' THEN d.current_revision + d.n_events
    END,
    d.outcome
  FROM decided d ORDER BY d.entry;
END $$;
