-- PostgreSQL: the storefront's catalog reads (serving.catalog.queries). Listing pages are built in code
-- from one keyset template per sort order (see queries.SORTS).

-- name: categories_with_counts
-- Every category with its number of products: a full index scan, so the result is cached (5 min).
SELECT c.id, c.code, c.name, count(p.id) AS product_count
FROM categories c LEFT JOIN products p ON p.category_id = c.id
GROUP BY c.id, c.code, c.name
ORDER BY c.name;

-- name: product_by_id
-- A split product's stock is its slots' (0011_stock_slots.sql).
SELECT p.id, p.asin, p.title, p.price,
       p.stock + (SELECT coalesce(sum(s.stock), 0) FROM product_stock_slots s WHERE s.product_id = p.id)::integer
         AS stock,
       c.code AS category_code, c.name AS category_name
FROM products p JOIN categories c ON c.id = p.category_id
WHERE p.id = %(id)s;

-- name: search_products
-- Title substring search on the trigram index, in id order with an id keyset; runs under a short timeout.
SELECT p.id, p.asin, p.title, p.price, c.code AS category_code
FROM products p JOIN categories c ON c.id = p.category_id
WHERE p.title ILIKE %(pattern)s AND p.id > %(after_id)s
ORDER BY p.id
LIMIT %(limit)s;
