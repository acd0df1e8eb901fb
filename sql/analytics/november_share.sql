-- Share of November revenue earned in the Black Friday window and in the seed week (Nov 22-28), per season.
-- The window's share is of its November days (window_november_revenue); window_revenue also holds the
-- window's December days when Cyber Monday falls in December.
-- Shares are given for complete seasons only; a running season shows its November revenue so far and no share.
SELECT
  year,
  status,
  CAST(november_revenue AS DOUBLE) AS november_revenue,
  CAST(window_revenue AS DOUBLE) AS window_revenue,
  CAST(window_november_revenue AS DOUBLE) AS window_november_revenue,
  round(100 * window_november_share, 1) AS window_share_pct,
  round(100 * seed_week_november_share, 1) AS seed_week_share_pct
FROM marts.black_friday_summary
WHERE status <> 'not_started'
ORDER BY year
