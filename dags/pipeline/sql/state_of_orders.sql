-- Where the orders' latest state (state/orders, written by the Spark merge) says each order is now: live when its
-- newest version is not deleted and has lines, and the curated month of its creation (UTC). DuckDB over one
-- registered Arrow table: state(id, created_at, deleted_at, lines).
SELECT
  id,
  deleted_at IS NULL AND len(lines) > 0 AS live,
  format('year={}/month={}', year(created_at AT TIME ZONE 'UTC'), month(created_at AT TIME ZONE 'UTC')) AS partition
FROM state
