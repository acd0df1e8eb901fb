-- One row per order. Status moves pending -> paid -> shipped -> delivered, or to cancelled from pending or
-- paid. Deletes are soft (deleted_at), so every change bumps updated_at and reaches the lake.
CREATE TABLE IF NOT EXISTS orders (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id      bigint NOT NULL REFERENCES customers (id),
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
  currency         char(3) NOT NULL DEFAULT 'USD',
  item_count       integer NOT NULL CHECK (item_count > 0),
  subtotal         numeric(12, 2) NOT NULL CHECK (subtotal >= 0),
  shipping_fee     numeric(12, 2) NOT NULL DEFAULT 0 CHECK (shipping_fee >= 0),
  total            numeric(12, 2) NOT NULL CHECK (total >= 0),
  shipping_name    text NOT NULL CHECK (shipping_name <> ''),
  shipping_address text NOT NULL CHECK (shipping_address <> ''),
  shipping_city    text NOT NULL CHECK (shipping_city <> ''),
  shipping_state   char(2) NOT NULL CHECK (shipping_state ~ '^[A-Z]{2}$'),
  shipping_zip     text NOT NULL CHECK (shipping_zip ~ '^[0-9]{5}(-[0-9]{4})?$'),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  CONSTRAINT orders_total_is_subtotal_plus_shipping CHECK (total = subtotal + shipping_fee)
);
COMMENT ON TABLE orders IS 'One row per order; soft-deleted with deleted_at; updated_at set by trigger.';

-- The watermark extract pages with a keyset on (updated_at, id).
CREATE INDEX IF NOT EXISTS orders_updated_at_id_idx ON orders (updated_at, id);
-- Order history per shopper, newest first.
CREATE INDEX IF NOT EXISTS orders_customer_created_idx ON orders (customer_id, created_at, id);

CREATE OR REPLACE TRIGGER orders_set_updated_at
  BEFORE INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Rejects status changes the lifecycle does not allow, naming the order and both states.
CREATE OR REPLACE FUNCTION check_order_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = OLD.status
     OR (OLD.status = 'pending' AND NEW.status IN ('paid', 'cancelled'))
     OR (OLD.status = 'paid' AND NEW.status IN ('shipped', 'cancelled'))
     OR (OLD.status = 'shipped' AND NEW.status = 'delivered') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'order %: status cannot change from % to %', OLD.id, OLD.status, NEW.status
    USING ERRCODE = 'check_violation';
END;
$$;

CREATE OR REPLACE TRIGGER orders_check_status_transition
  BEFORE UPDATE OF status ON orders
  FOR EACH ROW EXECUTE FUNCTION check_order_status_transition();

-- One row per purchased line of an order, with the product's price, title and category as sold.
CREATE TABLE IF NOT EXISTS order_items (
  order_id      bigint NOT NULL REFERENCES orders (id),
  line_no       smallint NOT NULL CHECK (line_no > 0),
  product_id    bigint NOT NULL REFERENCES products (id),
  asin          text NOT NULL,
  title         text NOT NULL,
  category_code text NOT NULL,
  unit_price    numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
  quantity      integer NOT NULL CHECK (quantity > 0),
  line_total    numeric(12, 2) GENERATED ALWAYS AS (unit_price * quantity) STORED,
  PRIMARY KEY (order_id, line_no)
);
COMMENT ON TABLE order_items IS 'One row per order line with the price, title and category as sold.';
CREATE INDEX IF NOT EXISTS order_items_product_idx ON order_items (product_id);

-- A line written after its order (in a later transaction) bumps the order, so the extract, which follows
-- orders.updated_at, carries the order with all its lines. Lines written in the order's own transaction
-- change nothing: the order's updated_at already equals now().
CREATE OR REPLACE FUNCTION touch_order_of_item() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE orders SET updated_at = now()
   WHERE id = COALESCE(NEW.order_id, OLD.order_id) AND updated_at <> now();
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER order_items_touch_order
  AFTER INSERT OR UPDATE OR DELETE ON order_items
  FOR EACH ROW EXECUTE FUNCTION touch_order_of_item();
