-- Revenue share of each category per year: the ten largest of a season's year (default: the latest completed season).
-- parameters: season
WITH chosen AS (
  SELECT coalesce(CAST(? AS integer), (SELECT year FROM marts.latest_completed_season)) AS year
),
shares AS (
  SELECT
    year,
    category,
    CAST(revenue AS DOUBLE) AS revenue,
    CAST(revenue AS DOUBLE) / sum(CAST(revenue AS DOUBLE)) OVER (PARTITION BY year) AS share
  FROM marts.category_sales
),
top AS (
  SELECT category FROM shares WHERE year = (SELECT year FROM chosen) ORDER BY revenue DESC, category LIMIT 10
)
SELECT s.year, s.category, round(100 * s.share, 1) AS revenue_share_pct
FROM shares AS s
JOIN top AS t ON t.category = s.category
ORDER BY s.category, s.year
