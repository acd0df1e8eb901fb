"""Spark job entry points: each parses its arguments, reads, calls transforms, writes (main(argv))."""
