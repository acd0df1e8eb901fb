-- Purchase limits count per network too ('network:<IPv4 /24 or IPv6 /64>', the client's address as the trusted
-- proxies saw it): new identities and address spellings are cheap, a network is not. A network may buy what one
-- customer may (serving/checkout/service.py).
ALTER TABLE purchase_tallies DROP CONSTRAINT IF EXISTS purchase_tallies_holder_check;
ALTER TABLE purchase_tallies ADD CONSTRAINT purchase_tallies_holder_check
  CHECK (holder ~ '^(customer|address|network):');
COMMENT ON TABLE purchase_tallies IS 'Units of a limited product bought per customer, shipping address and network.';

-- The admin audit is append-only for the storefront: it may add a row in an admin change's transaction, never
-- change or remove one (a compromised pod cannot rewrite who changed what).
REVOKE UPDATE, DELETE, TRUNCATE ON admin_audit FROM storefront_app;
