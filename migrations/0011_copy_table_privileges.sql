-- Grants `p_to` the privileges granted on `p_from` (a reporting role's SELECT, PUBLIC's, each with
-- its grant option where given): `CREATE TABLE ... (LIKE ... INCLUDING ALL)` copies none, so a
-- rebuild's fresh tables (read-models/rebuild.ts) would take queries that role could no longer
-- make. A table whose privileges were never changed (`relacl` null) keeps its owner's defaults.
-- Column privileges (`GRANT SELECT (column)`) are not copied.
CREATE FUNCTION copy_table_privileges(p_from regclass, p_to regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT acl.privilege_type, acl.is_grantable,
      CASE acl.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(acl.grantee)) END AS grantee
    FROM pg_class, aclexplode(relacl) AS acl
    WHERE pg_class.oid = p_from
  LOOP
    EXECUTE format('GRANT %s ON %s TO %s%s', v_grant.privilege_type, p_to, v_grant.grantee,
      CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;
