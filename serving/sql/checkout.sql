-- PostgreSQL: the checkout transaction (serving.checkout.service), in the order it runs.

-- name: lock_shopper
-- Serialises one shopper's checkouts, so concurrent requests with one idempotency key make one order.
SELECT pg_advisory_xact_lock(%(customer_id)s);

-- name: find_idempotency_key
SELECT request_hash, order_id FROM checkout_idempotency_keys
WHERE customer_id = %(customer_id)s AND idempotency_key = %(key)s;

-- name: lock_products
-- Locks the cart's products in id order (every checkout locks in the same order: no deadlocks) and reads
-- the prices and stock the order is made from, and a product's purchase limits if it has any. NO KEY UPDATE,
-- the lock the stock update takes anyway: other orders' lines of the product (their foreign key check holds KEY
-- SHARE until they commit) do not hold it up. Locking later in the transaction was measured: one more round
-- trip, and no more orders per second on a hot row (its lock is held across the commit's WAL flush either way).
SELECT p.id, p.asin, p.title, p.price, p.stock, c.code AS category_code, l.per_customer, l.per_address
FROM products p
JOIN categories c ON c.id = p.category_id
LEFT JOIN purchase_limits l ON l.product_id = p.id
WHERE p.id = ANY(%(ids)s)
ORDER BY p.id
FOR NO KEY UPDATE OF p;

-- name: bought_before
-- The units of the limited products this customer, this address and this network bought before. A statement of
-- its own, run once the products are locked: it reads the counts committed by the checkouts that held the lock
-- before (a join in the locking statement would keep the values from before its lock wait).
SELECT product_id, holder, quantity
FROM purchase_tallies
WHERE product_id = ANY(%(ids)s) AND holder IN (%(customer_holder)s, %(address_holder)s, %(network_holder)s);

-- name: count_limited_purchases
-- Adds this order's units of its limited products to the customer's, the address's and the network's tallies.
INSERT INTO purchase_tallies (product_id, holder, quantity)
SELECT line.id, holder.name, line.quantity
FROM unnest(%(ids)s::bigint[], %(quantities)s::integer[]) AS line (id, quantity)
CROSS JOIN unnest(ARRAY[%(customer_holder)s, %(address_holder)s, %(network_holder)s]::text[]) AS holder (name)
ON CONFLICT (product_id, holder) DO UPDATE SET quantity = purchase_tallies.quantity + EXCLUDED.quantity;

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

-- name: newest_order
-- The shopper's newest order (the checkout form's key changes with it: serving/checkout/pages.py).
SELECT max(id) AS id FROM orders WHERE customer_id = %(customer_id)s;
