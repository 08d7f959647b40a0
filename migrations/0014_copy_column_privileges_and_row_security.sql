-- What else a rebuild's swap (read-models/rebuild.ts) carries from the live tables to its fresh
-- ones, which `CREATE TABLE ... (LIKE ... INCLUDING ALL)` copies no more than their privileges
-- (0011): until now lost without a word, a reporting role's grant of some columns only, or the
-- row security an operator set up, would have let that role read no more, or everything.

-- Grants `p_to` the privileges granted on `p_from`'s columns (`GRANT SELECT (session_id, ...)`),
-- each with its grant option where given, column by column of the same name.
CREATE FUNCTION copy_column_privileges(p_from regclass, p_to regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.attname, acl.privilege_type, acl.is_grantable,
      CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(acl.grantee)) END AS grantee
    FROM pg_attribute a, aclexplode(a.attacl) AS acl
    WHERE a.attrelid = p_from AND a.attnum > 0 AND NOT a.attisdropped
  LOOP
    EXECUTE format('GRANT %s (%I) ON %s TO %s%s', v_grant.privilege_type, v_grant.attname, p_to, v_grant.grantee,
      CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;

-- Enables row security on `p_to` where it is on `p_from`, and forces it (on the table's owner
-- too) where it is forced there.
CREATE FUNCTION copy_row_security(p_from regclass, p_to regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_enabled boolean;
  v_forced boolean;
BEGIN
  SELECT relrowsecurity, relforcerowsecurity INTO v_enabled, v_forced FROM pg_class WHERE oid = p_from;
  IF v_enabled THEN EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_to); END IF;
  IF v_forced THEN EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_to); END IF;
END $$;

-- Creates on `p_to` the policy `p_name` of `p_from` (permissive or restrictive, its command and
-- roles), with the expressions `p_using` and `p_check` (`pg_get_expr`'s text, null where it has
-- none). The swap reads them before its renames and creates the policy after them, so that the
-- tables they name (the other read model's, in a subquery) are the rebuilt ones.
CREATE FUNCTION copy_policy(p_from regclass, p_name name, p_to regclass, p_using text, p_check text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_policy pg_policy;
BEGIN
  SELECT * INTO STRICT v_policy FROM pg_policy WHERE polrelid = p_from AND polname = p_name;
  EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p_name, p_to,
    CASE WHEN v_policy.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
    CASE v_policy.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
    (SELECT string_agg(CASE r WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ') FROM unnest(v_policy.polroles) AS r),
    CASE WHEN p_using IS NULL THEN '' ELSE format(' USING (%s)', p_using) END,
    CASE WHEN p_check IS NULL THEN '' ELSE format(' WITH CHECK (%s)', p_check) END);
END $$;
