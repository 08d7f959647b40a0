-- Gives `p_to` the comment on `p_from` and those on its columns, column by column of the same name
-- (none where `p_from`'s has none). A rebuild's swap (read-models/rebuild.ts) gives its fresh tables
-- the live ones' so: `CREATE TABLE ... (LIKE ... INCLUDING ALL)` copies the columns' comments as
-- they were when the rebuild began, and not the table's own.
CREATE FUNCTION copy_comments(p_from regclass, p_to regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_column record;
BEGIN
  EXECUTE format('COMMENT ON TABLE %s IS %L', p_to, obj_description(p_from, 'pg_class'));
  FOR v_column IN
    SELECT a.attname, col_description(p_from, a.attnum) AS description
    FROM pg_attribute a
    WHERE a.attrelid = p_from AND a.attnum > 0 AND NOT a.attisdropped
  LOOP
    EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', p_to, v_column.attname, v_column.description);
  END LOOP;
END $$;
