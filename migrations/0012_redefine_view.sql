-- Redefines the view `p_view` as `p_definition` (`pg_get_viewdef`'s text), keeping its options
-- (`security_barrier`, `check_option`, ...), which `CREATE OR REPLACE VIEW` sets to those it is
-- given. A rebuild's swap (read-models/rebuild.ts) puts an operator's views on the live tables
-- onto the fresh ones so: each stays the same view, with its owner, privileges and the views on it.
CREATE FUNCTION redefine_view(p_view regclass, p_definition text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_options text[];
BEGIN
  SELECT reloptions INTO v_options FROM pg_class WHERE oid = p_view;
  EXECUTE format('CREATE OR REPLACE VIEW %s%s AS %s', p_view,
    CASE WHEN v_options IS NULL THEN '' ELSE format(' WITH (%s)', array_to_string(v_options, ', ')) END, p_definition);
END $$;
