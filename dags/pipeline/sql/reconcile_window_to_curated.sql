-- Each order of a raw window and whether curated order_lines holds it (the gate's reconcile_window_to_curated).
-- DuckDB over two registered Arrow tables: window_orders(id), curated(order_id).
SELECT
  'o-' || w.id AS order_id,
  EXISTS (SELECT 1 FROM curated c WHERE c.order_id = 'o-' || w.id) AS in_curated
FROM window_orders w
