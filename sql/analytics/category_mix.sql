-- Revenue share of each category per year (the ten largest of the latest completed season).
-- (The latest completed season: the last year whose whole November is in the data, i.e. with a November share.)
WITH shares AS (
  SELECT
    year,
    category,
    CAST(revenue AS DOUBLE) AS revenue,
    CAST(revenue AS DOUBLE) / sum(CAST(revenue AS DOUBLE)) OVER (PARTITION BY year) AS share
  FROM marts.category_sales
),
top AS (
  SELECT category FROM shares WHERE year = (SELECT max(year) FROM marts.black_friday_summary WHERE window_november_share IS NOT NULL) ORDER BY revenue DESC, category LIMIT 10
)
SELECT s.year, s.category, round(100 * s.share, 1) AS revenue_share_pct
FROM shares AS s
JOIN top AS t ON t.category = s.category
ORDER BY s.category, s.year
