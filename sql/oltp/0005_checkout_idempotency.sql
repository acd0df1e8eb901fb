-- One row per checkout idempotency key of a shopper: the hash of the request that first used it and the
-- order it produced, written in the checkout's own transaction.
CREATE TABLE IF NOT EXISTS checkout_idempotency_keys (
  customer_id     bigint NOT NULL REFERENCES customers (id),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_hash    text NOT NULL,
  order_id        bigint NOT NULL REFERENCES orders (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, idempotency_key)
);
COMMENT ON TABLE checkout_idempotency_keys IS 'One row per (shopper, idempotency key) and the order it made.';
