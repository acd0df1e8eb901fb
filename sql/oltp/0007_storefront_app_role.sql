-- The storefront's own role: data only (SELECT, INSERT, UPDATE, DELETE), never DDL. The schema is owned by the
-- role that runs these migrations (MIGRATION_DATABASE_URL, the k8s migration Job); the storefront's login role
-- is a member of storefront_app (docs/deploy.md: CREATE ROLE storefront LOGIN ... IN ROLE storefront_app), so a
-- compromised or buggy storefront cannot drop, alter or truncate a table.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'storefront_app') THEN
    CREATE ROLE storefront_app NOLOGIN;
  END IF;
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO storefront_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO storefront_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO storefront_app;
-- the schema's history is the migrator's alone
REVOKE ALL ON schema_migrations FROM storefront_app;
-- tables and sequences later migrations create get the same grants
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO storefront_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO storefront_app;
