-- One row per product category, keyed by the code used in the purchases file (e.g. ABIS_BOOK).
CREATE TABLE IF NOT EXISTS categories (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code       text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_]+$'),
  name       text NOT NULL CHECK (name <> ''),
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE categories IS 'One row per product category, keyed by the purchases-file code.';

-- One row per sellable product (an ASIN or ISBN); price is the current list price, stock what can be sold.
CREATE TABLE IF NOT EXISTS products (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  asin        text NOT NULL UNIQUE CHECK (asin ~ '^[A-Z0-9]{10}$'),
  title       text NOT NULL CHECK (title <> ''),
  category_id integer NOT NULL REFERENCES categories (id),
  price       numeric(12, 2) NOT NULL CHECK (price >= 0),
  stock       integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE products IS 'One row per sellable product (ASIN/ISBN) with its list price and stock.';

-- Keyset pagination inside a category for each sort order: (sort key, id) is the cursor.
CREATE INDEX IF NOT EXISTS products_category_price_idx ON products (category_id, price, id);
CREATE INDEX IF NOT EXISTS products_category_newest_idx ON products (category_id, created_at, id);
CREATE INDEX IF NOT EXISTS products_category_title_idx ON products (category_id, title, id);
-- Substring / similarity search over titles.
CREATE INDEX IF NOT EXISTS products_title_trgm_idx ON products USING gin (title gin_trgm_ops);

CREATE OR REPLACE TRIGGER products_set_updated_at
  BEFORE INSERT OR UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
