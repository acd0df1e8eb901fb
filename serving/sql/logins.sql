-- The two logins of the aws target, made by `python -m serving.migrate --logins` after the migrations (as the
-- schema's owner): `storefront`, a member of storefront_app (data only), which the pods use through RDS Proxy, and
-- `bfp_extract`, a member of pipeline_extract, which MWAA's extract uses. Neither has a password: both sign in
-- with IAM tokens, which PostgreSQL on RDS accepts from members of rds_iam (a role RDS alone has; elsewhere the
-- logins are made without it). Safe to run again.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'storefront') THEN
    CREATE ROLE storefront LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bfp_extract') THEN
    CREATE ROLE bfp_extract LOGIN;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
    GRANT rds_iam TO storefront, bfp_extract;
  END IF;
END
$$;
GRANT storefront_app TO storefront;
GRANT pipeline_extract TO bfp_extract;
