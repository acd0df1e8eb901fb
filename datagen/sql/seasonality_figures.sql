-- DuckDB: per year, the sums behind the Black Friday figures, from the typed `purchases` table.
-- Black Friday week = Tuesday before Thanksgiving (4th Thursday of November) .. Cyber Monday; the seed's
-- fixed flag (Nov 22-28) is summed too for comparison. Ratios are taken in datagen.figures.

-- name: by_year
WITH daily AS (
  SELECT order_date AS day, count(*) AS orders, sum(unit_price * quantity) AS revenue
  FROM purchases
  GROUP BY order_date
), thanksgiving AS (
  SELECT year,
         make_date(year, 11, 1) + CAST((11 - isodow(make_date(year, 11, 1))) % 7 AS INTEGER) + 21 AS day
  FROM (SELECT DISTINCT year(day) AS year FROM daily)
), bf_week AS (
  SELECT year, day - 2 AS first_day, day + 4 AS last_day FROM thanksgiving
)
SELECT w.year,
       w.first_day,
       w.last_day,
       coalesce(sum(d.orders) FILTER (WHERE d.day BETWEEN w.first_day AND w.last_day), 0) AS bf_week_orders,
       coalesce(sum(d.orders) FILTER (
         WHERE month(d.day) = 11 AND d.day NOT BETWEEN w.first_day AND w.last_day), 0) AS rest_of_nov_orders,
       30 - (least(w.last_day, make_date(w.year, 11, 30)) - w.first_day + 1) AS rest_of_nov_days,
       coalesce(sum(d.revenue) FILTER (
         WHERE month(d.day) = 11 AND d.day BETWEEN w.first_day AND w.last_day), 0) AS bf_week_nov_revenue,
       coalesce(sum(d.revenue) FILTER (
         WHERE month(d.day) = 11 AND day(d.day) BETWEEN 22 AND 28), 0) AS seed_flag_revenue,
       coalesce(sum(d.revenue) FILTER (WHERE month(d.day) = 11), 0) AS nov_revenue,
       arg_max(d.day, d.orders) AS peak_day,
       max(d.orders) AS peak_orders
FROM bf_week w
JOIN daily d ON year(d.day) = w.year
GROUP BY w.year, w.first_day, w.last_day
ORDER BY w.year;
