-- The ten states with the most revenue in the latest completed season, with their share of it.
-- (The latest completed season: the last year whose whole November is in the data, i.e. with a November share.)
SELECT
  state,
  orders,
  CAST(revenue AS DOUBLE) AS revenue,
  round(100 * CAST(revenue AS DOUBLE) / sum(CAST(revenue AS DOUBLE)) OVER (), 1) AS revenue_share_pct
FROM marts.state_sales
WHERE year = (SELECT max(year) FROM marts.black_friday_summary WHERE window_november_share IS NOT NULL)
ORDER BY revenue DESC, state
LIMIT 10
