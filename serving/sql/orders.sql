-- PostgreSQL: a shopper's order history (serving.orders.queries). Every read is scoped to the owner.

-- name: order_of_customer
SELECT id, status, created_at, item_count, subtotal, shipping_fee, total, shipping_name, shipping_address,
       shipping_city, shipping_state, shipping_zip
FROM orders
WHERE id = %(order_id)s AND customer_id = %(customer_id)s AND deleted_at IS NULL;

-- name: order_lines
SELECT line_no, product_id, asin, title, category_code, unit_price, quantity, line_total
FROM order_items WHERE order_id = %(order_id)s ORDER BY line_no;

-- name: orders_of_customer
-- Newest first, keyset on (created_at, id) via orders_customer_created_idx.
SELECT id, status, created_at, item_count, total
FROM orders
WHERE customer_id = %(customer_id)s AND deleted_at IS NULL
  AND (%(before_id)s::bigint IS NULL OR (created_at, id) < (%(before_created)s::timestamptz, %(before_id)s))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;
