"""The admin capability: price and stock changes, authenticated by a configured token."""
