-- The pipeline's extract role: reads the tables the watermark extract copies, and sees every session's
-- transaction start. The extract refuses to run without the second (dags/pipeline/watermark.py): PostgreSQL
-- shows other roles' pg_stat_activity.xact_start only to superusers and members of pg_read_all_stats, so a
-- plain role would find no open transaction, call every window safe and lose late commits. The pipeline's
-- login role is a member (docs/deploy.md: CREATE ROLE extract LOGIN ... IN ROLE pipeline_extract).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pipeline_extract') THEN
    CREATE ROLE pipeline_extract NOLOGIN;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO pipeline_extract;
GRANT SELECT ON orders, order_items TO pipeline_extract;
GRANT pg_read_all_stats TO pipeline_extract;
