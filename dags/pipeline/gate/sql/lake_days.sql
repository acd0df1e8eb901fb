-- The reconciliation's lake side: per day, OLTP orders and revenue in curated order_lines as analysts see them
-- (the published partitions), counted as the marts count them, without the orders PostgreSQL changed since the
-- published mark. DuckDB over two registered Arrow tables: lines(order_id, order_date, revenue, status, source),
-- changed(order_id). Parameters: $first_day, $end_day (exclusive).
SELECT order_date,
       count(DISTINCT order_id) FILTER (WHERE status <> 'cancelled') AS orders,
       coalesce(sum(revenue) FILTER (WHERE status <> 'cancelled'), 0) AS revenue
  FROM lines
 WHERE source = 'oltp'
   AND order_date >= $first_day AND order_date < $end_day
   AND order_id NOT IN (SELECT order_id FROM changed)
 GROUP BY order_date
 ORDER BY order_date;
