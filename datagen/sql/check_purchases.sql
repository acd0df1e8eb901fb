-- DuckDB: typed purchases and the problems of lines that cannot be used.
-- Reads `purchases_text` (the file's fields as text, in file order) and runs in order: parse, row_problems,
-- valid. The file line of a record is rowid + 2 (line 1 is the header; records hold no line breaks).

-- name: parse
CREATE OR REPLACE TABLE purchases_parsed AS
SELECT rowid + 2 AS line,
       "Order Date" AS order_date_text,
       try_strptime("Order Date", '%Y-%m-%d')::DATE AS order_date,
       "Purchase Price Per Unit" AS unit_price_text,
       TRY_CAST("Purchase Price Per Unit" AS DECIMAL(12, 2)) AS unit_price,
       "Quantity" AS quantity_text,
       TRY_CAST("Quantity" AS DOUBLE) AS quantity,
       nullif(trim("Shipping Address State"), '') AS state,
       nullif(trim("Title"), '') AS title,
       nullif(trim("ASIN/ISBN (Product Code)"), '') AS asin,
       nullif(upper(regexp_replace(trim("Category"), '[^A-Za-z0-9]+', '_', 'g')), '') AS category,
       nullif(trim("Survey ResponseID"), '') AS survey_response_id
FROM purchases_text;

-- name: row_problems
-- One row per failed rule of a line: the line, the field (as named in the file header) and why.
CREATE OR REPLACE TABLE purchases_problems AS
SELECT line, field, reason FROM (
  SELECT line, 'Order Date' AS field,
         'must be a date YYYY-MM-DD, got ' || coalesce('"' || order_date_text || '"', 'nothing') AS reason
  FROM purchases_parsed WHERE order_date IS NULL
  UNION ALL
  SELECT line, 'Purchase Price Per Unit',
         'must be a number >= 0, got ' || coalesce('"' || unit_price_text || '"', 'nothing')
  FROM purchases_parsed WHERE unit_price IS NULL OR unit_price < 0
  UNION ALL
  SELECT line, 'Quantity',
         'must be a whole number > 0, got ' || coalesce('"' || quantity_text || '"', 'nothing')
  FROM purchases_parsed WHERE quantity IS NULL OR quantity <= 0 OR quantity <> floor(quantity)
  UNION ALL
  SELECT line, 'ASIN/ISBN (Product Code)',
         'must be 10 capital letters or digits, got ' || coalesce('"' || asin || '"', 'nothing')
  FROM purchases_parsed WHERE asin IS NULL OR NOT regexp_full_match(asin, '[A-Z0-9]{10}')
  UNION ALL
  SELECT line, 'Shipping Address State', 'must be a 2-letter state code, got "' || state || '"'
  FROM purchases_parsed WHERE state IS NOT NULL AND NOT regexp_full_match(state, '[A-Z]{2}')
  UNION ALL
  SELECT line, 'Survey ResponseID', 'must not be empty'
  FROM purchases_parsed WHERE survey_response_id IS NULL
)
ORDER BY line, field;

-- name: valid
-- The usable lines, typed; a missing title or category gets a stated placeholder rather than losing the line.
CREATE OR REPLACE TABLE purchases AS
SELECT line, order_date, unit_price, CAST(quantity AS INTEGER) AS quantity, state,
       coalesce(title, 'Product ' || asin) AS title, asin,
       coalesce(category, 'UNCATEGORIZED') AS category, survey_response_id
FROM purchases_parsed
WHERE line NOT IN (SELECT line FROM purchases_problems);
