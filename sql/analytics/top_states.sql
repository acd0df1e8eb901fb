-- The ten states with the most revenue in the latest year, with their share of it.
SELECT
  state,
  orders,
  CAST(revenue AS DOUBLE) AS revenue,
  round(100 * CAST(revenue AS DOUBLE) / sum(CAST(revenue AS DOUBLE)) OVER (), 1) AS revenue_share_pct
FROM marts.state_sales
WHERE year = (SELECT max(year) FROM marts.state_sales)
ORDER BY revenue DESC, state
LIMIT 10
