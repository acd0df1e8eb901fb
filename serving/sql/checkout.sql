-- PostgreSQL: the checkout transaction (serving.checkout.service), in the order it runs.

-- name: lock_shopper
-- Serialises one shopper's checkouts, so concurrent requests with one idempotency key make one order.
SELECT pg_advisory_xact_lock(%(customer_id)s);

-- name: find_idempotency_key
SELECT request_hash, order_id FROM checkout_idempotency_keys
WHERE customer_id = %(customer_id)s AND idempotency_key = %(key)s;

-- name: lock_products
-- Locks the cart's products in id order (every checkout locks in the same order: no deadlocks) and reads
-- the prices and stock the order is made from.
SELECT p.id, p.asin, p.title, p.price, p.stock, c.code AS category_code
FROM products p JOIN categories c ON c.id = p.category_id
WHERE p.id = ANY(%(ids)s)
ORDER BY p.id
FOR UPDATE OF p;

-- name: decrement_stock
-- Conditional: a line whose stock would go below zero is not updated (and CHECK (stock >= 0) backs it).
UPDATE products p SET stock = p.stock - line.quantity
FROM unnest(%(ids)s::bigint[], %(quantities)s::integer[]) AS line (id, quantity)
WHERE p.id = line.id AND p.stock >= line.quantity
RETURNING p.id, p.stock;

-- name: insert_order
-- The order, its lines and the idempotency key in one statement (one round trip); the lines' foreign key
-- is checked at the end of the statement, when the order row exists.
WITH new_order AS (
  INSERT INTO orders (customer_id, item_count, subtotal, shipping_fee, total, shipping_name, shipping_address,
                      shipping_city, shipping_state, shipping_zip)
  VALUES (%(customer_id)s, %(item_count)s, %(subtotal)s, %(shipping_fee)s, %(total)s, %(name)s, %(address)s,
          %(city)s, %(state)s, %(zip)s)
  RETURNING id, status, created_at
), new_lines AS (
  INSERT INTO order_items (order_id, line_no, product_id, asin, title, category_code, unit_price, quantity)
  SELECT new_order.id, line.line_no, line.product_id, line.asin, line.title, line.category_code, line.unit_price,
         line.quantity
  FROM new_order,
       unnest(%(line_no_list)s::smallint[], %(product_id_list)s::bigint[], %(asin_list)s::text[],
              %(title_list)s::text[], %(category_code_list)s::text[], %(unit_price_list)s::numeric[],
              %(quantity_list)s::integer[])
       AS line (line_no, product_id, asin, title, category_code, unit_price, quantity)
), new_key AS (
  INSERT INTO checkout_idempotency_keys (customer_id, idempotency_key, request_hash, order_id)
  SELECT %(customer_id)s, %(key)s, %(request_hash)s, new_order.id FROM new_order
)
SELECT id, status, created_at FROM new_order;
