"""The historical purchases file (Open e-commerce 1.0 schema): its header, as the generator writes it and the
import and the catalog loader read it (datagen/sql/check_purchases.sql names the same fields; a test checks)."""

from __future__ import annotations

FILE_COLUMNS = (
    "Order Date",
    "Purchase Price Per Unit",
    "Quantity",
    "Shipping Address State",
    "Title",
    "ASIN/ISBN (Product Code)",
    "Category",
    "Survey ResponseID",
)
