-- PostgreSQL: statements of the order activity simulator (datagen.simulate).

-- name: product_pool
-- A random sample of sellable products to build orders from. Parameter: %(size)s.
SELECT p.id, p.asin, p.title, c.code, p.price
FROM products p JOIN categories c ON c.id = p.category_id
ORDER BY md5(p.id::text)
LIMIT %(size)s;

-- name: customer_pool
SELECT id, coalesce(home_state, 'CA') FROM customers ORDER BY id LIMIT %(size)s;

-- name: insert_order
INSERT INTO orders (customer_id, item_count, subtotal, shipping_fee, total, shipping_name, shipping_address,
                    shipping_city, shipping_state, shipping_zip)
VALUES (%(customer_id)s, %(item_count)s, %(subtotal)s, %(shipping_fee)s, %(total)s, %(name)s, %(address)s,
        %(city)s, %(state)s, %(zip)s)
RETURNING id, updated_at;

-- name: insert_item
INSERT INTO order_items (order_id, line_no, product_id, asin, title, category_code, unit_price, quantity)
VALUES (%(order_id)s, %(line_no)s, %(product_id)s, %(asin)s, %(title)s, %(category_code)s, %(unit_price)s,
        %(quantity)s);

-- name: advance_status
-- Moves orders one step along pending -> paid -> shipped -> delivered, or cancels a pending/paid one.
UPDATE orders
SET status = CASE WHEN %(cancel)s AND status IN ('pending', 'paid') THEN 'cancelled'
                  WHEN status = 'pending' THEN 'paid'
                  WHEN status = 'paid' THEN 'shipped'
                  WHEN status = 'shipped' THEN 'delivered'
                  ELSE status END
WHERE id = ANY(%(order_ids)s) AND status NOT IN ('delivered', 'cancelled')
RETURNING id, status, updated_at;

-- name: bulk_orders
-- Set-based, for the benchmark: %(count)s one-line orders built from the catalog and the customers. Order ids
-- are taken from the identity sequence first so each order's line can reference it.
WITH products_numbered AS (
  SELECT row_number() OVER (ORDER BY p.id) AS n, p.id, p.asin, p.title, c.code, p.price
  FROM products p JOIN categories c ON c.id = p.category_id
), customers_numbered AS (
  SELECT row_number() OVER (ORDER BY id) AS n, id, coalesce(home_state, 'CA') AS state FROM customers
), planned AS (
  SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS order_id, p.id AS product_id, p.asin, p.title,
         p.code, p.price, cu.id AS customer_id, cu.state
  FROM generate_series(1, %(count)s) AS g
  JOIN products_numbered p ON p.n = 1 + (g::bigint * 104729) %% (SELECT count(*) FROM products_numbered)
  JOIN customers_numbered cu ON cu.n = 1 + (g::bigint * 7919) %% (SELECT count(*) FROM customers_numbered)
), new_orders AS (
  INSERT INTO orders (id, customer_id, item_count, subtotal, shipping_fee, total, shipping_name, shipping_address,
                      shipping_city, shipping_state, shipping_zip)
  OVERRIDING SYSTEM VALUE
  SELECT order_id, customer_id, 1, price, 0, price, 'Bulk Shopper', order_id || ' Bench St', 'Springfield', state,
         '62701'
  FROM planned
  RETURNING id
)
INSERT INTO order_items (order_id, line_no, product_id, asin, title, category_code, unit_price, quantity)
SELECT p.order_id, 1, p.product_id, p.asin, p.title, p.code, p.price, 1
FROM planned p JOIN new_orders o ON o.id = p.order_id;
