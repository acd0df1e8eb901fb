-- The reconciliation's PostgreSQL side: per UTC day, the live orders (not deleted, with lines) and their revenue,
-- counted as the marts count them (orders = distinct non-cancelled orders; revenue excludes cancelled ones), for
-- the orders whose newest version the lake holds once every window up to %(through)s is published: orders
-- changed at or after it are left out here, and their ids out of the lake's side (source_changed_since.sql).
-- Parameters: %(first_day)s, %(end_day)s (exclusive), %(through)s.
SELECT (o.created_at AT TIME ZONE 'UTC')::date AS order_date,
       count(DISTINCT o.id) FILTER (WHERE o.status <> 'cancelled') AS orders,
       coalesce(sum(i.line_total) FILTER (WHERE o.status <> 'cancelled'), 0) AS revenue
  FROM orders o
  JOIN order_items i ON i.order_id = o.id
 WHERE o.deleted_at IS NULL
   AND o.updated_at < %(through)s
   AND o.created_at >= (%(first_day)s::date)::timestamp AT TIME ZONE 'UTC'
   AND o.created_at < (%(end_day)s::date)::timestamp AT TIME ZONE 'UTC'
 GROUP BY 1
 ORDER BY 1;
