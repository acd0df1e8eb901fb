"""Benchmarks: scripts that print their figures (`make bench-...`); never pass/fail tests."""
