-- Dry run: what the extract of [start, end) would write. Parameters: %(start)s, %(end)s.
SELECT count(*) AS orders,
       coalesce(sum((SELECT count(*) FROM order_items i WHERE i.order_id = o.id)), 0) AS order_items,
       min(updated_at) AS min_updated_at,
       max(updated_at) AS max_updated_at
FROM orders o
WHERE updated_at >= %(start)s AND updated_at < %(end)s
