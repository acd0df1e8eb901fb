-- Daily orders and revenue in November and December of a season (default: the latest completed), with a 7-day moving average.
-- parameters: season
WITH chosen AS (
  SELECT coalesce(CAST(? AS integer), (SELECT year FROM marts.latest_completed_season)) AS year
),
days AS (
  SELECT
    d.order_date,
    d.month,
    d.orders,
    CAST(d.revenue AS DOUBLE) AS revenue,
    round(avg(d.orders) OVER (ORDER BY d.order_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 1) AS orders_7d_avg,
    d.is_black_friday_window
  FROM marts.daily_sales AS d
  WHERE d.year = (SELECT year FROM chosen)
)
SELECT
  date_format(days.order_date, '%Y-%m-%d') AS order_date,
  c.weekday,
  c.days_from_thanksgiving,
  days.orders,
  days.revenue,
  days.orders_7d_avg,
  days.is_black_friday_window
FROM days
JOIN curated.calendar AS c ON c.order_date = days.order_date
WHERE days.month IN (11, 12)
ORDER BY days.order_date
