-- DuckDB: per complete season, the sums behind the Black Friday figures, from the typed `purchases` table and
-- the `seasons` table (per year: the peak week's and the seed week's first and last day, from the calendar in
-- seasons/calendar.py). Ratios are taken in datagen.figures.

-- name: by_year
WITH daily AS (
  SELECT order_date AS day, count(*) AS orders, sum(unit_price * quantity) AS revenue
  FROM purchases
  GROUP BY order_date
)
SELECT s.year,
       s.peak_first AS first_day,
       s.peak_last AS last_day,
       coalesce(sum(d.orders) FILTER (WHERE d.day BETWEEN s.peak_first AND s.peak_last), 0) AS peak_week_orders,
       coalesce(sum(d.orders) FILTER (
         WHERE month(d.day) = 11 AND d.day NOT BETWEEN s.peak_first AND s.peak_last), 0) AS rest_of_nov_orders,
       s.november_days_outside_peak_week AS rest_of_nov_days,
       coalesce(sum(d.revenue) FILTER (
         WHERE month(d.day) = 11 AND d.day BETWEEN s.peak_first AND s.peak_last), 0) AS peak_week_nov_revenue,
       coalesce(sum(d.revenue) FILTER (WHERE d.day BETWEEN s.seed_first AND s.seed_last), 0) AS seed_week_revenue,
       coalesce(sum(d.revenue) FILTER (WHERE month(d.day) = 11), 0) AS nov_revenue,
       arg_max(d.day, d.orders) AS peak_day,
       max(d.orders) AS peak_orders
FROM seasons s
JOIN daily d ON year(d.day) = s.year
GROUP BY s.year, s.peak_first, s.peak_last, s.november_days_outside_peak_week
ORDER BY s.year;
