-- One keyset page of the orders changed in the window [start, end), ordered by (updated_at, id), as CSV.
-- Runs inside the extract's REPEATABLE READ READ ONLY snapshot; columns follow raw_tables.ORDERS.
-- Parameters: %(start)s, %(end)s, %(after_updated_at)s, %(after_id)s, %(page_rows)s.
COPY (
  SELECT id, customer_id, status, currency, item_count, subtotal, shipping_fee, total,
         shipping_name, shipping_address, shipping_city, shipping_state, shipping_zip,
         (extract(epoch FROM created_at) * 1000000)::bigint,
         (extract(epoch FROM updated_at) * 1000000)::bigint,
         (extract(epoch FROM deleted_at) * 1000000)::bigint
  FROM orders
  WHERE updated_at >= %(start)s AND updated_at < %(end)s
    AND (updated_at, id) > (%(after_updated_at)s, %(after_id)s)
  ORDER BY updated_at, id
  LIMIT %(page_rows)s
) TO STDOUT (FORMAT csv)
