-- The lines of exactly the orders of one page: those with (after) < (updated_at, id) <= (last) in the window.
-- Same snapshot as the page, so an order never travels without its lines. Columns follow
-- raw_tables.ORDER_ITEMS. Parameters: %(start)s, %(end)s, %(after_updated_at)s, %(after_id)s,
-- %(last_updated_at)s, %(last_id)s.
COPY (
  SELECT i.order_id, (extract(epoch FROM o.updated_at) * 1000000)::bigint, i.line_no, i.product_id, i.asin,
         i.title, i.category_code, i.unit_price, i.quantity, i.line_total
  FROM orders o
  JOIN order_items i ON i.order_id = o.id
  WHERE o.updated_at >= %(start)s AND o.updated_at < %(end)s
    AND (o.updated_at, o.id) > (%(after_updated_at)s, %(after_id)s)
    AND (o.updated_at, o.id) <= (%(last_updated_at)s, %(last_id)s)
  ORDER BY o.updated_at, o.id, i.line_no
) TO STDOUT (FORMAT csv)
