-- Where the orders' latest state (state/orders, written by the Spark merge) says each order is now: live when its
-- newest version is not deleted and has lines, and its curated partition: the month of its creation (UTC) and its
-- bucket. DuckDB over one registered Arrow table: state(id, created_at, deleted_at, lines, bucket).
SELECT
  id,
  deleted_at IS NULL AND len(lines) > 0 AS live,
  format('year={}/month={}/bucket={}', year(created_at AT TIME ZONE 'UTC'), month(created_at AT TIME ZONE 'UTC'),
         bucket) AS partition
FROM state
