-- The ten states with the most revenue in a season's year (default: the latest completed season), with their share of it.
-- parameters: season
SELECT
  state,
  orders,
  CAST(revenue AS DOUBLE) AS revenue,
  round(100 * CAST(revenue AS DOUBLE) / sum(CAST(revenue AS DOUBLE)) OVER (), 1) AS revenue_share_pct
FROM marts.state_sales
WHERE year = coalesce(CAST(? AS integer), (SELECT year FROM marts.latest_completed_season))
ORDER BY revenue DESC, state
LIMIT 10
