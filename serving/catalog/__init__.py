"""The catalog capability: categories, keyset-paged listings, search and product detail."""
