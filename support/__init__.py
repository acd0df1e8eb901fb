"""What tests, drills and benchmarks share to measure the platform (never imported by a deployable)."""
