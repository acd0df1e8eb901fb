-- Black Friday by season: status as of the data's as-of date, the window (Thanksgiving .. Cyber Monday) and the seed week (Nov 22-28).
-- Surge = how much higher the period's daily orders are than the rest of November's (36.0 = +36%); like the
-- November shares it is shown for complete seasons only (null while a season runs, never a share of half a month).
SELECT
  s.year,
  s.status,
  date_format(s.as_of, '%Y-%m-%d') AS as_of,
  date_format(s.thanksgiving, '%Y-%m-%d') AS thanksgiving,
  date_format(s.black_friday, '%Y-%m-%d') AS black_friday,
  date_format(s.cyber_monday, '%Y-%m-%d') AS cyber_monday,
  s.window_orders,
  round(s.window_daily_order_surge * 100, 1) AS window_surge_pct,
  round(s.seed_week_daily_order_surge * 100, 1) AS seed_week_surge_pct,
  date_format(s.peak_day, '%Y-%m-%d') AS peak_day,
  c.weekday AS peak_weekday,
  s.peak_day_orders,
  s.black_friday_orders,
  s.cyber_monday_orders
FROM marts.black_friday_summary AS s
LEFT JOIN curated.calendar AS c ON c.order_date = s.peak_day
WHERE s.status <> 'not_started'
ORDER BY s.year
