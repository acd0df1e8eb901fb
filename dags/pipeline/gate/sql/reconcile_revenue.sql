-- Per day, curated revenue (cancelled lines excluded) against marts.daily_sales revenue (the gate's
-- reconcile_revenue). DuckDB over two registered Arrow tables: lines(order_date, revenue, status), daily.
WITH c AS (
  SELECT order_date, sum(revenue) AS curated_revenue
  FROM lines
  WHERE status <> 'cancelled'
  GROUP BY order_date
),
m AS (SELECT order_date, revenue AS mart_revenue FROM daily)
SELECT
  coalesce(c.order_date, m.order_date) AS order_date,
  curated_revenue,
  mart_revenue,
  CAST(coalesce(curated_revenue, 0) - coalesce(mart_revenue, 0) AS DOUBLE) AS difference
FROM c FULL JOIN m ON c.order_date = m.order_date
WHERE coalesce(curated_revenue, 0) <> 0 OR m.order_date IS NOT NULL
