"""Synthetic Open e-commerce 1.0 purchases file, and the storefront catalog derived from it."""
