-- Daily orders and revenue of the latest year's November and December, with a 7-day moving average.
SELECT
  order_date,
  orders,
  CAST(revenue AS DOUBLE) AS revenue,
  round(avg(orders) OVER (ORDER BY order_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 1) AS orders_7d_avg,
  is_black_friday_window
FROM marts.daily_sales
WHERE year = (SELECT max(year) FROM marts.daily_sales) AND month IN (11, 12)
ORDER BY order_date
