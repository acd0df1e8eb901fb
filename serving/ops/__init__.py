"""The ops capability: liveness, readiness and Prometheus metrics."""
