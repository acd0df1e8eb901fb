-- Daily orders and revenue in November and December of the latest completed season, with a 7-day moving average.
-- (The latest completed season: the last year whose whole November is in the data, i.e. with a November share.)
SELECT
  order_date,
  orders,
  CAST(revenue AS DOUBLE) AS revenue,
  round(avg(orders) OVER (ORDER BY order_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 1) AS orders_7d_avg,
  is_black_friday_window
FROM marts.daily_sales
WHERE year = (SELECT max(year) FROM marts.black_friday_summary WHERE window_november_share IS NOT NULL) AND month IN (11, 12)
ORDER BY order_date
