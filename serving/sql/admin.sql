-- PostgreSQL: admin changes to the catalog (serving.admin.api). Each runs in a transaction with its audit row.

-- name: lock_product
-- The product's row, locked; its stock is its slots' when split (0011_stock_slots.sql).
SELECT p.id, p.price, p.stock_slots,
       p.stock + (SELECT coalesce(sum(s.stock), 0) FROM product_stock_slots s WHERE s.product_id = p.id)::integer
         AS stock
FROM products p WHERE p.id = %(id)s FOR UPDATE OF p;

-- name: update_product
-- A split product's stock is laid out in its slots first (lay_out_slots); %(stock)s is then NULL.
UPDATE products p
SET price = coalesce(%(price)s, p.price), stock = coalesce(%(stock)s, p.stock)
FROM categories c
WHERE p.id = %(id)s AND c.id = p.category_id
RETURNING p.id, p.asin, p.title, p.price,
  p.stock + (SELECT coalesce(sum(s.stock), 0) FROM product_stock_slots s WHERE s.product_id = p.id)::integer
    AS stock,
  p.stock_slots, c.code AS category_code, c.name AS category_name;

-- name: lock_slots
-- The slots, locked in slot order (a checkout holding one finishes first).
SELECT slot, stock FROM product_stock_slots WHERE product_id = %(id)s ORDER BY slot FOR UPDATE;

-- name: clear_slots
DELETE FROM product_stock_slots WHERE product_id = %(id)s;

-- name: fill_slots
-- %(stock)s units over %(slots)s slots, evenly, the remainder one each to the first slots.
INSERT INTO product_stock_slots (product_id, slot, stock)
SELECT %(id)s, n, %(stock)s / %(slots)s + CASE WHEN n <= mod(%(stock)s, %(slots)s) THEN 1 ELSE 0 END
FROM generate_series(1, %(slots)s::integer) AS n;

-- name: set_stock_layout
UPDATE products SET stock = %(stock)s, stock_slots = %(slots)s WHERE id = %(id)s;

-- name: purchase_limit
SELECT product_id, per_customer, per_address FROM purchase_limits WHERE product_id = %(id)s;

-- name: set_purchase_limit
INSERT INTO purchase_limits (product_id, per_customer, per_address)
VALUES (%(id)s, %(per_customer)s, %(per_address)s)
ON CONFLICT (product_id) DO UPDATE
SET per_customer = EXCLUDED.per_customer, per_address = EXCLUDED.per_address, updated_at = now()
RETURNING product_id, per_customer, per_address;

-- name: remove_purchase_limit
DELETE FROM purchase_limits WHERE product_id = %(id)s;

-- name: audit
INSERT INTO admin_audit (actor, client_addr, action, product_id, before, after)
VALUES (%(actor)s, %(client_addr)s, %(action)s, %(product_id)s, %(before)s, %(after)s);
