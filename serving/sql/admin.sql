-- PostgreSQL: admin changes to the catalog (serving.admin.api). Each runs in a transaction with its audit row.

-- name: lock_product
SELECT p.id, p.price, p.stock FROM products p WHERE p.id = %(id)s FOR UPDATE;

-- name: update_product
UPDATE products p
SET price = coalesce(%(price)s, p.price), stock = coalesce(%(stock)s, p.stock)
FROM categories c
WHERE p.id = %(id)s AND c.id = p.category_id
RETURNING p.id, p.asin, p.title, p.price, p.stock, c.code AS category_code, c.name AS category_name;

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
