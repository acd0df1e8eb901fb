-- A doorbuster's stock split over rows. Every checkout of a product updates its stock row, and the row's lock
-- is held through the commit's WAL flush: one row sells about one order per flush, whatever the load
-- (`make bench-hot-product`). An admin splits such a product's stock over N slots (PUT
-- /api/v1/admin/products/{id}/stock-slots); a checkout takes its units from one free slot (SKIP LOCKED), so N
-- checkouts of the product commit side by side. A split product keeps 0 in products.stock: its stock is the
-- sum of its slots.
ALTER TABLE products ADD COLUMN IF NOT EXISTS stock_slots smallint NOT NULL DEFAULT 0
  CHECK (stock_slots BETWEEN 0 AND 64);
COMMENT ON COLUMN products.stock_slots IS 'How many product_stock_slots rows hold its stock (0: products.stock does).';

CREATE TABLE IF NOT EXISTS product_stock_slots (
  product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  slot       smallint NOT NULL CHECK (slot BETWEEN 1 AND 64),
  stock      integer NOT NULL CHECK (stock >= 0),
  PRIMARY KEY (product_id, slot)
);
COMMENT ON TABLE product_stock_slots IS 'The stock of a split product (a doorbuster), one row per slot.';
