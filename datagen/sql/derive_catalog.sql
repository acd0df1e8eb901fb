-- DuckDB: the storefront catalog derived from the typed `purchases` table (one row per valid file line).
-- Statements are named with "-- name:" and run in order by datagen.catalog.

-- name: categories
-- One row per category code; an empty category becomes UNCATEGORIZED.
CREATE OR REPLACE TABLE derived_categories AS
SELECT DISTINCT category AS code,
       replace(regexp_replace(category, '^ABIS_', ''), '_', ' ') AS name
FROM purchases
ORDER BY code;

-- name: products
-- One row per product code: the latest title and category it was sold under, the median unit price as the
-- list price, the first day it sold as its catalog date, and a stock level that grows with how often it
-- sold (about 1 product in 20 starts out of stock; md5 makes that choice stable across runs).
CREATE OR REPLACE TABLE derived_products AS
WITH per_product AS (
  SELECT asin,
         first(title ORDER BY order_date DESC, title DESC) AS title,
         first(category ORDER BY order_date DESC, category DESC) AS category_code,
         quantile_disc(unit_price, 0.5) AS price,
         count(*) AS times_sold,
         min(order_date) AS first_sold
  FROM purchases
  GROUP BY asin
), hashed AS (
  SELECT *, CAST(('0x' || md5(asin)[1:4]) AS INTEGER) AS h FROM per_product
)
SELECT asin, title, category_code, round(price, 2) AS price,
       CASE WHEN h % 20 = 0 THEN 0 ELSE 5 + h % 50 + 10 * least(times_sold, 50) END AS stock,
       first_sold
FROM hashed
ORDER BY asin;

-- name: customers
-- One row per shopper: the state most of their lines shipped to, and the day of their first purchase.
CREATE OR REPLACE TABLE derived_customers AS
WITH per_state AS (
  SELECT survey_response_id, state, count(*) AS lines
  FROM purchases
  WHERE state IS NOT NULL
  GROUP BY ALL
)
SELECT p.survey_response_id,
       (SELECT first(s.state ORDER BY s.lines DESC, s.state)
          FROM per_state s WHERE s.survey_response_id = p.survey_response_id) AS home_state,
       min(p.order_date) AS first_purchase
FROM purchases p
GROUP BY p.survey_response_id
ORDER BY p.survey_response_id;
