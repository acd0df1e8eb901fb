-- Black Friday by year: the window Thanksgiving .. Cyber Monday against the seed's fixed Nov 22-28 week.
-- Surge = how much higher the period's daily orders are than the rest of November's (36.0 = +36%).
SELECT
  year,
  date_format(thanksgiving, '%Y-%m-%d') AS thanksgiving,
  date_format(cyber_monday, '%Y-%m-%d') AS cyber_monday,
  round(window_daily_order_surge * 100, 1) AS window_surge_pct,
  round(seed_week_daily_order_surge * 100, 1) AS seed_week_surge_pct,
  date_format(peak_day, '%Y-%m-%d') AS peak_day,
  day_of_week(peak_day) AS peak_weekday,
  peak_day_orders,
  black_friday_orders,
  cyber_monday_orders
FROM marts.black_friday_summary
ORDER BY year
