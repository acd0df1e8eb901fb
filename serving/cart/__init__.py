"""The cart capability: one cart per shopper in Redis (24 h, renewed on every use)."""
