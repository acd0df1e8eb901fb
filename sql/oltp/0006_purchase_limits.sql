-- Doorbuster limits: how many units of a product one customer, and one shipping address, may buy. Set through
-- the admin API; the checkout checks and counts them in its own transaction, under the product's row lock.
CREATE TABLE IF NOT EXISTS purchase_limits (
  product_id   bigint PRIMARY KEY REFERENCES products (id),
  per_customer integer NOT NULL CHECK (per_customer BETWEEN 1 AND 9999),
  per_address  integer NOT NULL CHECK (per_address BETWEEN 1 AND 9999),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE purchase_limits IS 'Units of a product one customer / one shipping address may buy in all.';

-- Units bought of a limited product per holder: 'customer:<id>' or 'address:<sha256 of the normalised
-- address>'. Counted from the moment the product has a limit; one index lookup per line at checkout.
CREATE TABLE IF NOT EXISTS purchase_tallies (
  product_id bigint NOT NULL REFERENCES products (id),
  holder     text NOT NULL CHECK (holder ~ '^(customer|address):'),
  quantity   integer NOT NULL CHECK (quantity >= 0),
  PRIMARY KEY (product_id, holder)
);
COMMENT ON TABLE purchase_tallies IS 'Units of a limited product bought per customer and per shipping address.';

-- Every admin change, in the change's own transaction: who (the token's fingerprint, the client address),
-- what, and the values before and after.
CREATE TABLE IF NOT EXISTS admin_audit (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  client_addr text NOT NULL,
  action      text NOT NULL,
  product_id  bigint NOT NULL,
  before      jsonb,
  after       jsonb
);
COMMENT ON TABLE admin_audit IS 'One row per admin change: actor, client address, action, values before/after.';
