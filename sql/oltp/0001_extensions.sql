-- Extensions the OLTP schema relies on: trigram search over product titles.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Sets updated_at to the writing transaction's start time on every insert and update, whatever the client
-- sent. Using the transaction time (now()) means a row's updated_at is never later than the
-- pg_stat_activity.xact_start of the transaction that wrote it, which the watermark extract's safety guard
-- relies on.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;
