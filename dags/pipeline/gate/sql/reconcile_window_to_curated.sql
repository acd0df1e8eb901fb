-- Each order of a raw window, whether curated order_lines should hold it (its newest version, in the orders'
-- state, is live) and whether it does (the gate's reconcile_window_to_curated). An order the state does not hold
-- was never merged: it never agrees. DuckDB over three registered
-- Arrow tables: window_orders(id), state(id, live, partition), curated(order_id).
SELECT
  'o-' || w.id AS order_id,
  coalesce(s.live, false) AS belongs_in_curated,
  EXISTS (SELECT 1 FROM curated c WHERE c.order_id = 'o-' || w.id) AS in_curated,
  s.id IS NOT NULL AND s.live = EXISTS (SELECT 1 FROM curated c WHERE c.order_id = 'o-' || w.id) AS agrees
FROM window_orders w
LEFT JOIN state s ON s.id = w.id
