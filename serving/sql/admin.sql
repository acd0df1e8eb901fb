-- PostgreSQL: admin changes to the catalog (serving.admin.api).

-- name: update_product
UPDATE products p
SET price = coalesce(%(price)s, p.price), stock = coalesce(%(stock)s, p.stock)
FROM categories c
WHERE p.id = %(id)s AND c.id = p.category_id
RETURNING p.id, p.asin, p.title, p.price, p.stock, c.code AS category_code, c.name AS category_name;
