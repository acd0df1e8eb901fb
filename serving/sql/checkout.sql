-- PostgreSQL: the checkout transaction (serving.checkout.service), in the order it runs.

-- name: lock_shopper
-- Serialises one shopper's checkouts, so concurrent requests with one idempotency key make one order.
SELECT pg_advisory_xact_lock(%(customer_id)s);

-- name: find_idempotency_key
SELECT request_hash, order_id FROM checkout_idempotency_keys
WHERE customer_id = %(customer_id)s AND idempotency_key = %(key)s;

-- name: read_products
-- The cart's products, read without a lock: the prices and stock the order is made from, and a product's purchase
-- limits if it has any. A product on one row is locked by its stock update (decrement_stock), after the limits
-- are counted: its row lock, which every order of a doorbuster waits for, spans that update, the order's insert
-- and the commit's WAL flush (it used to be taken here, and held through the limits too). The
-- stock read here answers the 409 of a line short already; one that goes short meanwhile is refused by the
-- update's condition. A product whose stock is split over slots (0011_stock_slots.sql) counts its slots' units:
-- they are taken from one free slot (take_from_free_slot).
SELECT p.id, p.asin, p.title, p.price,
       p.stock + CASE WHEN p.stock_slots > 0
                      THEN (SELECT coalesce(sum(s.stock), 0) FROM product_stock_slots s WHERE s.product_id = p.id)
                      ELSE 0 END::integer AS stock,
       p.stock_slots, c.code AS category_code, l.per_customer, l.per_address
FROM products p
JOIN categories c ON c.id = p.category_id
LEFT JOIN purchase_limits l ON l.product_id = p.id
WHERE p.id = ANY(%(ids)s)
ORDER BY p.id;

-- name: count_limited_purchases
-- Adds this order's units of its limited products to the customer's, the address's and the network's tallies,
-- in product then holder order (concurrent checkouts lock tally rows in the same order); returns the new counts.
-- Every limit is checked on them: the tally row's lock serialises the checkouts of one holder (a locked
-- product's row lock is not needed for it), and a count past the limit rolls the order back.
INSERT INTO purchase_tallies (product_id, holder, quantity)
SELECT line.id, holder.name, line.quantity
FROM unnest(%(ids)s::bigint[], %(quantities)s::integer[]) AS line (id, quantity)
CROSS JOIN unnest(ARRAY[%(customer_holder)s, %(address_holder)s, %(network_holder)s]::text[])
  WITH ORDINALITY AS holder (name, n)
ORDER BY line.id, holder.n
ON CONFLICT (product_id, holder) DO UPDATE SET quantity = purchase_tallies.quantity + EXCLUDED.quantity
RETURNING product_id, holder, quantity;

-- name: decrement_stock
-- After the limits, before the order's insert: locks its one-row products in id order (every checkout locks in
-- the same order: no deadlocks) and takes the quantities off. NO KEY UPDATE, the lock a stock update takes
-- anyway: other orders' lines of the product (their foreign key check holds KEY SHARE until they commit, this
-- order's own included) do not conflict with it. Conditional: a line whose stock would go below zero is not
-- updated (CHECK (stock >= 0) backs it) and the order is refused; READ COMMITTED re-checks the condition on the
-- row as the lock found it.
WITH locked AS MATERIALIZED (
  SELECT p.id FROM products p WHERE p.id = ANY(%(ids)s) ORDER BY p.id FOR NO KEY UPDATE
)
UPDATE products p SET stock = p.stock - line.quantity
FROM unnest(%(ids)s::bigint[], %(quantities)s::integer[]) AS line (id, quantity)
JOIN locked ON locked.id = line.id
WHERE p.id = line.id AND p.stock >= line.quantity
RETURNING p.id, p.stock;

-- name: take_from_free_slot
-- A split product's units from one slot no other checkout holds, picked at random among those with enough.
-- Returns the slot's stock left and the product's (as of this statement, so approximate: for the cache).
UPDATE product_stock_slots s SET stock = s.stock - %(quantity)s
FROM (
  SELECT slot FROM product_stock_slots
  WHERE product_id = %(id)s AND stock >= %(quantity)s
  ORDER BY random() LIMIT 1
  FOR NO KEY UPDATE SKIP LOCKED
) AS free
WHERE s.product_id = %(id)s AND s.slot = free.slot AND s.stock >= %(quantity)s
RETURNING s.stock,
  (SELECT sum(x.stock) FROM product_stock_slots x WHERE x.product_id = %(id)s)::integer - %(quantity)s AS left;

-- name: take_from_busy_slot
-- Every slot with enough is held by another checkout (for milliseconds): wait for the first one. In slot order:
-- a slot found emptied after its wait stays locked while the scan goes on to the next, so every waiter must go
-- the same way (any other order deadlocks; serving/checkout/service.py rolls such locks back between rounds).
UPDATE product_stock_slots s SET stock = s.stock - %(quantity)s
FROM (
  SELECT slot FROM product_stock_slots
  WHERE product_id = %(id)s AND stock >= %(quantity)s
  ORDER BY slot LIMIT 1
  FOR NO KEY UPDATE
) AS busy
WHERE s.product_id = %(id)s AND s.slot = busy.slot AND s.stock >= %(quantity)s
RETURNING s.stock,
  (SELECT sum(x.stock) FROM product_stock_slots x WHERE x.product_id = %(id)s)::integer - %(quantity)s AS left;

-- name: slot_with_enough
-- Whether any slot still has enough (committed now): a busy slot found empty after its wait is not the end.
SELECT 1 FROM product_stock_slots WHERE product_id = %(id)s AND stock >= %(quantity)s LIMIT 1;

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
