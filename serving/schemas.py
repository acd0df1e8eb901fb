"""Marshmallow schemas of the JSON API: they validate requests and generate the OpenAPI spec."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

# USPS codes of the 50 states, DC and Puerto Rico: where the shop ships.
US_STATES = (
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ NM NV NY OH "
    "OK OR PA PR RI SC SD TN TX UT VA VT WA WI WV WY"
).split()
# Leading and trailing spaces are stripped on load, so a value needs one visible character (and no NUL).
NOT_BLANK = validate.Regexp(r"^[^\x00]*\S[^\x00]*$", error="must not be blank")
MONEY = {"description": "Amount in USD as a decimal string", "example": "19.99"}


class Text(fields.String):
    """A string PostgreSQL can store: NUL characters are a field error (and a pattern in the spec), not a 500."""

    def __init__(self, *args, **kwargs):
        validators = kwargs.pop("validate", None)
        validators = [] if validators is None else [validators] if callable(validators) else list(validators)
        if not any(isinstance(v, validate.Regexp) for v in validators):  # a field's own pattern excludes NUL
            validators.append(validate.Regexp("^[^\x00]*$", error="must not contain NUL characters"))
        super().__init__(*args, validate=validators, **kwargs)


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
    sort = Text(load_default="price", validate=validate.OneOf(["price", "newest", "title"]))
    cursor = Text(load_default=None, validate=validate.Length(max=500))
    limit = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class ProductPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ProductSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    prev_cursor = fields.String(allow_none=True, required=True)


class SearchQuerySchema(ma.Schema):
    q = Text(required=True, validate=validate.Length(min=3, max=100))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0))
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
    product_id = fields.Integer(required=True, validate=validate.Range(min=1))
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=99))


class SetQuantitySchema(ma.Schema):
    quantity = fields.Integer(required=True, validate=validate.Range(min=0, max=99))


class ShippingSchema(ma.Schema):
    """Where to ship; the checkout form validates with the same rules."""

    name = Text(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK])
    address = Text(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])
    city = Text(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK])
    state = Text(required=True, validate=validate.OneOf(US_STATES, error="must be a US state code"))
    zip = Text(required=True, validate=validate.Regexp(r"^[0-9]{5}(-[0-9]{4})?$", error="must be 12345 or 12345-6789"))

    @ma.pre_load
    def strip(self, data, **kwargs):
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data


class IdempotencyHeaderSchema(ma.Schema):
    idempotency_key = Text(required=True, data_key="Idempotency-Key", validate=validate.Length(min=1, max=255))


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
    cursor = Text(load_default=None, validate=validate.Length(max=500))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class OrderPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OrderSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ProductChangeSchema(ma.Schema):
    """Fields to change; an empty body changes nothing (PATCH semantics)."""

    price = Text(
        validate=validate.Regexp(r"^[0-9]{1,6}(\.[0-9]{1,2})?$", error="must be like 19.99 (0 to 999999.99)"),
        metadata=MONEY,
    )
    stock = fields.Integer(validate=validate.Range(min=0, max=10_000_000))
