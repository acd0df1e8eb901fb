"""The orders capability: a shopper's order history and order detail, scoped to the owner."""
