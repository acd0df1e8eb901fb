"""The Locust Shopper's think time, shared by the locustfile and the report (it bounds the mix's rate)."""

SHOPPER_WAIT_SECONDS = (0.05, 0.25)  # between one shopper's requests, uniformly
