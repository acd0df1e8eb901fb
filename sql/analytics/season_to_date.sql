-- Season to date against last year: orders and revenue per day from Thanksgiving-21, aligned on days from Thanksgiving.
-- Default season: the newest one in the mart (the running season while it runs). Last year's days are complete;
-- this season's as-of day is still filling (is_complete_day false). Change = this season's running total vs last year's.
-- parameters: season
WITH chosen AS (
  SELECT coalesce(CAST(? AS integer), (SELECT max(year) FROM marts.season_to_date)) AS year
)
SELECT
  t.days_from_thanksgiving,
  date_format(t.order_date, '%Y-%m-%d') AS order_date,
  t.weekday,
  t.orders,
  t.orders_to_date,
  CAST(t.revenue_to_date AS DOUBLE) AS revenue_to_date,
  t.is_complete_day,
  date_format(l.order_date, '%Y-%m-%d') AS last_year_date,
  l.orders AS last_year_orders,
  l.orders_to_date AS last_year_orders_to_date,
  CAST(l.revenue_to_date AS DOUBLE) AS last_year_revenue_to_date,
  round(100 * (CAST(t.orders_to_date AS DOUBLE) / nullif(l.orders_to_date, 0) - 1), 1) AS orders_to_date_change_pct,
  round(100 * (CAST(t.revenue_to_date AS DOUBLE) / nullif(CAST(l.revenue_to_date AS DOUBLE), 0) - 1), 1)
    AS revenue_to_date_change_pct
FROM marts.season_to_date AS t
LEFT JOIN marts.season_to_date AS l
  ON l.year = t.year - 1 AND l.days_from_thanksgiving = t.days_from_thanksgiving
WHERE t.year = (SELECT year FROM chosen)
ORDER BY t.days_from_thanksgiving
