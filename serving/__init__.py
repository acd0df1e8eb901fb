"""The storefront deployable (Flask OLTP serving layer) and the OLTP schema migrations it owns."""
