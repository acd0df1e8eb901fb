-- PostgreSQL: moves the staged catalog (COPY-filled temp tables) into the OLTP tables, in the loader's one
-- transaction. Re-loading the same file changes nothing; a changed title, category or price is updated.
-- Stock is set only when a product is first loaded: a re-load never undoes sales.

-- name: stage
CREATE TEMP TABLE staged_categories (code text, name text) ON COMMIT DROP;
CREATE TEMP TABLE staged_products (
  asin text, title text, category_code text, price numeric(12, 2), stock integer, first_sold date
) ON COMMIT DROP;
CREATE TEMP TABLE staged_customers (survey_response_id text, home_state text, first_purchase date)
  ON COMMIT DROP;

-- name: categories
INSERT INTO categories (code, name)
SELECT code, name FROM staged_categories
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name WHERE categories.name IS DISTINCT FROM EXCLUDED.name;

-- name: products
INSERT INTO products (asin, title, category_id, price, stock, created_at)
SELECT s.asin, s.title, c.id, s.price, s.stock, s.first_sold::timestamp AT TIME ZONE 'UTC'
FROM staged_products s
JOIN categories c ON c.code = s.category_code
ON CONFLICT (asin) DO UPDATE
  SET title = EXCLUDED.title, category_id = EXCLUDED.category_id, price = EXCLUDED.price
  WHERE (products.title, products.category_id, products.price)
        IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.category_id, EXCLUDED.price);

-- name: customers
INSERT INTO customers (survey_response_id, home_state, created_at)
SELECT survey_response_id, home_state, first_purchase::timestamp AT TIME ZONE 'UTC'
FROM staged_customers
ON CONFLICT (survey_response_id) DO UPDATE SET home_state = EXCLUDED.home_state
  WHERE customers.home_state IS DISTINCT FROM EXCLUDED.home_state;

-- name: counts
SELECT (SELECT count(*) FROM categories), (SELECT count(*) FROM products), (SELECT count(*) FROM customers);
