"""Marshmallow schemas of the JSON API: they validate requests and generate the OpenAPI spec.

Endpoints pass instances to `@blp.arguments`, not classes: given a class, webargs builds a new schema on every
request, and building one copies every declared field (the largest share of a cart or checkout request's CPU
in `make profile-serve`). Loading keeps no state on the instance, so one serves every thread."""

from __future__ import annotations

import json
from pathlib import Path

import marshmallow as ma
from marshmallow import fields, validate

from serving.validation import BIGINT_MAX, NOT_BLANK, Anchored, StrictInteger, Text

# USPS codes of the 50 states, DC and Puerto Rico, where the shop ships: the list every deployable shares (the
# image copies sql/value_lists.json beside serving/, as it copies the OLTP schema).
VALUE_LISTS = Path(__file__).resolve().parents[1] / "sql" / "value_lists.json"
US_STATES = tuple(json.loads(VALUE_LISTS.read_text())["us_states"])
MONEY = {"description": "Amount in USD as a decimal string", "example": "19.99"}


class ErrorSchema(ma.Schema):
    """Every error body: a stable code, a message for people, and details naming what was wrong."""

    code = fields.String(required=True, metadata={"example": "out_of_stock"})
    message = fields.String(required=True)
    details = fields.Raw(required=True, metadata={"description": "What was wrong and where (field, item)"})


class CategorySchema(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    product_count = fields.Integer(required=True)


class ProductSummarySchema(ma.Schema):
    """A product in a listing: stock is shown on the product itself, where it is kept current."""

    id = fields.Integer(required=True)
    asin = fields.String(required=True)
    title = fields.String(required=True)
    price = fields.String(required=True, metadata=MONEY)


class ProductSchema(ProductSummarySchema):
    stock = fields.Integer(required=True)
    category_code = fields.String(required=True)
    category_name = fields.String(required=True)


class SearchHitSchema(ProductSummarySchema):
    category_code = fields.String(required=True)


class ListingQuerySchema(ma.Schema):
    sort = Text(load_default="price", max_length=10, validate=validate.OneOf(["price", "newest", "title"]))
    cursor = Text(load_default=None, max_length=500)
    limit = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class ProductPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ProductSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    prev_cursor = fields.String(allow_none=True, required=True)


# A word pg_trgm can take trigrams from: three letters or digits in a row (anything else separates words).
# Search text without one would scan every title, so it is refused (the spec shows the pattern).
SEARCH_WORD = r"[^\W_]{3}"
SEARCH_WORD_ERROR = "needs a word of at least 3 letters or digits (e.g. 'usb' or 'lamp')"


class SearchQuerySchema(ma.Schema):
    q = Text(
        required=True,
        min_length=3,
        max_length=100,
        validate=Anchored(f"[^\x00]*{SEARCH_WORD}[^\x00]*", error=SEARCH_WORD_ERROR),
    )
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=BIGINT_MAX))
    limit = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class SearchPageSchema(ma.Schema):
    items = fields.List(fields.Nested(SearchHitSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CartLineSchema(ma.Schema):
    product_id = fields.Integer(required=True)
    asin = fields.String(required=True)
    title = fields.String(required=True)
    unit_price = fields.String(required=True, metadata=MONEY)
    quantity = fields.Integer(required=True)
    line_total = fields.String(required=True, metadata=MONEY)
    in_stock = fields.Boolean(required=True)
    stock = fields.Integer(required=True)


class CartSchema(ma.Schema):
    lines = fields.List(fields.Nested(CartLineSchema), required=True)
    item_count = fields.Integer(required=True)
    total = fields.String(required=True, metadata=MONEY)


class AddToCartSchema(ma.Schema):
    product_id = StrictInteger(required=True, minimum=1, maximum=BIGINT_MAX)
    quantity = StrictInteger(load_default=1, minimum=1, maximum=99)


class SetQuantitySchema(ma.Schema):
    quantity = StrictInteger(required=True, minimum=0, maximum=99)


class CartLineFormSchema(SetQuantitySchema):
    """The cart page's forms: the line's product and (to change it) its quantity."""

    product_id = StrictInteger(required=True, minimum=1, maximum=BIGINT_MAX)
    quantity = StrictInteger(minimum=0, maximum=99)


class ShippingSchema(ma.Schema):
    """Where to ship; the checkout form validates with the same rules."""

    name = Text(required=True, min_length=1, max_length=100, validate=NOT_BLANK)
    address = Text(required=True, min_length=1, max_length=200, validate=NOT_BLANK)
    city = Text(required=True, min_length=1, max_length=100, validate=NOT_BLANK)
    state = Text(required=True, max_length=2, validate=validate.OneOf(US_STATES, error="must be a US state code"))
    zip = Text(
        required=True, max_length=10, validate=Anchored("[0-9]{5}(-[0-9]{4})?", error="must be 12345 or 12345-6789")
    )

    @ma.pre_load
    def strip(self, data, **kwargs):
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data


IDEMPOTENCY_KEY_MAX = 255  # the column's CHECK (length BETWEEN 1 AND 255)


class IdempotencyHeaderSchema(ma.Schema):
    idempotency_key = Text(required=True, data_key="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX)


class CheckoutFormSchema(ShippingSchema):
    """The checkout page's form: the shipping fields and the form's idempotency token (a hidden field)."""

    idempotency_key = Text(required=True, min_length=1, max_length=IDEMPOTENCY_KEY_MAX)


class OrderLineSchema(ma.Schema):
    line_no = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    asin = fields.String(required=True)
    title = fields.String(required=True)
    category_code = fields.String(required=True)
    unit_price = fields.String(required=True, metadata=MONEY)
    quantity = fields.Integer(required=True)
    line_total = fields.String(required=True, metadata=MONEY)


class OrderSummarySchema(ma.Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    item_count = fields.Integer(required=True)
    total = fields.String(required=True, metadata=MONEY)


class OrderSchema(OrderSummarySchema):
    subtotal = fields.String(required=True, metadata=MONEY)
    shipping_fee = fields.String(required=True, metadata=MONEY)
    shipping = fields.Nested(ShippingSchema, required=True)
    lines = fields.List(fields.Nested(OrderLineSchema), required=True)


class OrderHistoryQuerySchema(ma.Schema):
    cursor = Text(load_default=None, max_length=500)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class OrderPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OrderSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ProductChangeSchema(ma.Schema):
    """Fields to change; an empty body changes nothing (PATCH semantics)."""

    price = Text(
        max_length=9,
        validate=Anchored(r"[0-9]{1,6}(\.[0-9]{1,2})?", error="must be like 19.99 (0 to 999999.99)"),
        metadata=MONEY,
    )
    stock = StrictInteger(minimum=0, maximum=10_000_000)


class StockSlotsSchema(ma.Schema):
    """How many rows a product's stock is split over: a doorbuster's checkouts then commit side by side."""

    slots = StrictInteger(
        required=True,
        minimum=0,
        maximum=64,
        metadata={"description": "0 or 1: one row (products.stock); 2-64: that many slots of equal stock"},
    )


class PurchaseLimitSchema(ma.Schema):
    """A doorbuster's limits: units one customer, and one shipping address, may buy in all."""

    per_customer = StrictInteger(required=True, minimum=1, maximum=9999)
    per_address = StrictInteger(required=True, minimum=1, maximum=9999)


class PurchaseLimitStateSchema(PurchaseLimitSchema):
    product_id = fields.Integer(required=True)
