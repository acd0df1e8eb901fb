-- A slice of the OLAP cube: November of a season (default: the latest completed), the top state x category cells.
-- Each cell's share of its state's total (the cube's state-only rows) and of the month (its grand-total row).
-- parameters: season
WITH chosen AS (
  SELECT coalesce(CAST(? AS integer), (SELECT year FROM marts.latest_completed_season)) AS year
)
SELECT
  c.state,
  c.category,
  c.orders,
  CAST(c.revenue AS DOUBLE) AS revenue,
  round(100 * CAST(c.revenue AS DOUBLE) / CAST(st.revenue AS DOUBLE), 1) AS share_of_state_pct,
  round(100 * CAST(c.revenue AS DOUBLE) / CAST(total.revenue AS DOUBLE), 2) AS share_of_month_pct
FROM marts.olap_cube AS c
JOIN marts.olap_cube AS st
  ON st.year = c.year AND st.month = c.month AND st.state = c.state AND st.category IS NULL
JOIN marts.olap_cube AS total
  ON total.year = c.year AND total.month = c.month AND total.state IS NULL AND total.category IS NULL
WHERE c.year = (SELECT year FROM chosen) AND c.month = 11
  AND c.state IS NOT NULL AND c.category IS NOT NULL
ORDER BY c.revenue DESC, c.state, c.category
LIMIT 20
