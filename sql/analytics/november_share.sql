-- Share of November revenue earned in the Black Friday window and in the seed's Nov 22-28 week, per year.
SELECT
  d.year,
  CAST(sum(d.revenue) AS DOUBLE) AS november_revenue,
  CAST(sum(d.revenue) FILTER (WHERE d.is_black_friday_window) AS DOUBLE) AS window_revenue,
  round(100 * s.window_november_share, 1) AS window_share_pct,
  round(100 * s.seed_week_november_share, 1) AS seed_week_share_pct
FROM marts.daily_sales AS d
JOIN marts.black_friday_summary AS s ON s.year = d.year
WHERE d.month = 11
GROUP BY d.year, s.window_november_share, s.seed_week_november_share
ORDER BY d.year
