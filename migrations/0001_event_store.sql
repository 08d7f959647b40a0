-- The PostgreSQL event store: one append-only table of events, in streams.
--
-- Readers of the whole log go in (transaction_id, position) order and only below the oldest
-- transaction still in flight (pg_snapshot_xmin), so an event whose transaction commits late is
-- never skipped: see src/event-store/postgres-event-store.ts.

CREATE TABLE events (
  position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
  stream_name    text        NOT NULL,
  category       text        NOT NULL,
  revision       bigint      NOT NULL CHECK (revision >= 0),
  event_id       uuid        NOT NULL UNIQUE,
  event_type     text        NOT NULL,
  data           jsonb       NOT NULL,
  metadata       jsonb       NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_name, revision)
);

CREATE INDEX events_log_order ON events (transaction_id, position);

-- Append-only: stored events are never changed or removed by the application.
CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'PA405';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_are_immutable();

-- Appends events to one stream if it is at the expected revision ('no_stream', 'stream_exists',
-- 'any' or a number); returns the stream's new revision. Raises PA409 (detail: the actual
-- revision, -1 for no stream) on a wrong expected revision and PA422 when only some of the event
-- ids are stored already in the stream (ids stored in another stream violate events_event_id_key). Appending again ids that are all stored in this stream is a success
-- that writes nothing.
--
-- The per-stream advisory lock is taken before the transaction has an id, and the events are
-- written after: so a stream's later revisions always have larger transaction ids, and readers
-- in (transaction_id, position) order see each stream's events in revision order.
CREATE FUNCTION append_to_stream(
  p_stream text, p_category text, p_expected text,
  p_event_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_count   int := cardinality(p_event_ids);
  v_stored  int;
  v_last    bigint;
  v_current bigint;
  v_wrong   boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, 0));

  SELECT count(*), max(revision) INTO v_stored, v_last
    FROM events WHERE event_id = ANY (p_event_ids) AND stream_name = p_stream;
  IF v_stored = v_count THEN
    RETURN v_last;
  END IF;
  IF v_stored > 0 THEN
    RAISE EXCEPTION 'append to % repeats stored event ids', p_stream USING ERRCODE = 'PA422';
  END IF;

  SELECT coalesce(max(revision), -1) INTO v_current FROM events WHERE stream_name = p_stream;

  v_wrong := CASE p_expected
    WHEN 'any' THEN false
    WHEN 'no_stream' THEN v_current <> -1
    WHEN 'stream_exists' THEN v_current = -1
    ELSE v_current <> p_expected::bigint
  END;
  IF v_wrong THEN
    RAISE EXCEPTION 'stream % is at revision %', p_stream, v_current
      USING ERRCODE = 'PA409', DETAIL = v_current::text;
  END IF;

  INSERT INTO events (stream_name, category, revision, event_id, event_type, data, metadata)
  SELECT p_stream, p_category, v_current + e.ord, e.id, e.type, e.data, e.metadata
    FROM unnest(p_event_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS e(id, type, data, metadata, ord);

  RETURN v_current + v_count;
END $$;
