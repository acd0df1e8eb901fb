"""The checkout capability: the cart becomes an order in one transaction, once per idempotency key."""
