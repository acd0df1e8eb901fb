"""The one validation layer in front of the database, for pages and API alike.

Every value a request carries is checked against what its column can hold before any SQL runs: text without
NUL or lone surrogates and within the column's length, integers that are integers (no 1.5, no "5", no bool)
within the column's range, money as an exact decimal of a fixed format, JSON bodies bounded in size and depth.
A bad value is a 4xx naming the field, never a 500 from the database. Forms are loaded through the same
marshmallow schemas as the API (their text fields converted first), so both answer a bad value alike (422).
"""

from __future__ import annotations

import json
import re
from typing import Any

import marshmallow as ma
from flask import Flask, request
from marshmallow import fields, validate
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from serving.errors import BadRequest, HeadersTooLarge, PayloadTooLarge, Unprocessable, UriTooLong

INT_MAX = 2**31 - 1  # PostgreSQL integer
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint (ids)
MAX_BODY_BYTES = 64 * 1024  # a cart or checkout body is a few hundred bytes
MAX_JSON_DEPTH = 8  # the API's bodies are flat objects
MAX_URL_BYTES = 4096
MAX_HEADER_BYTES = 8192  # one header line; gunicorn refuses longer ones itself (serving/gunicorn.conf.py)
FORM_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")  # what a browser's number field sends; longer is out of range
# PostgreSQL text holds neither NUL nor lone surrogates (UTF-8 cannot encode them). NUL as a pattern, so the
# OpenAPI spec says it too (schemathesis generates within it; the pattern holds a literal NUL, which JSON
# Schema tools read reliably, unlike a \x00 escape); surrogates by a check of their own.
STORABLE = validate.Regexp("^[^\x00]*$", error="must not contain NUL characters")
_SURROGATE = re.compile("[\ud800-\udfff]")


def no_lone_surrogates(value: str) -> str:
    if _SURROGATE.search(value):
        raise ma.ValidationError("must be valid Unicode text (no lone surrogates)")
    return value


# One visible character at least (leading and trailing spaces are stripped on load), and storable.
NOT_BLANK = validate.Regexp("^[^\x00]*[^\\s\x00][^\x00]*$", error="must not be blank")


class Text(fields.String):
    """A string the database can store (no NUL, no lone surrogate), within a length limit (the column's)."""

    def __init__(self, *args, max_length: int, min_length: int = 0, **kwargs):
        validators = kwargs.pop("validate", None)
        validators = [] if validators is None else [validators] if callable(validators) else list(validators)
        length = validate.Length(min=min_length, max=max_length)
        # the spec shows a field's first pattern: a field's own (which must exclude what STORABLE does) comes first
        own = [v for v in validators if isinstance(v, validate.Regexp)]
        others = [v for v in validators if not isinstance(v, validate.Regexp)]
        super().__init__(*args, validate=[*own, STORABLE, no_lone_surrogates, length, *others], **kwargs)


class StrictInteger(fields.Integer):
    """An integer in JSON (not a string, a fraction or a boolean), within [minimum, maximum]."""

    def __init__(self, *args, minimum: int = 0, maximum: int = INT_MAX, **kwargs):
        validators = kwargs.pop("validate", None)
        validators = [] if validators is None else [validators] if callable(validators) else list(validators)
        super().__init__(*args, strict=True, validate=[validate.Range(min=minimum, max=maximum), *validators], **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):  # JSON true is not 1
            raise self.make_error("invalid")
        return super()._validated(value)


class Anchored(validate.Regexp):
    """A whole-value pattern. The spec shows `^(?:p)$`; validation is a full match, because Python's `$` also
    accepts a trailing newline ("19.99\\n")."""

    def __init__(self, pattern: str, error: str):
        super().__init__(f"^(?:{pattern})$", error=error)
        self.whole = re.compile(pattern)

    def __call__(self, value: str) -> str:
        if self.whole.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


def form_input(form: MultiDict, schema: ma.Schema) -> dict[str, Any]:
    """A form's fields as the API would receive them: a whole number typed into an integer field becomes an
    int, anything else stays text (and the schema's strict integer refuses it, as it refuses it in JSON)."""
    values: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if key not in form:
            continue
        raw = form.get(key, "")
        values[key] = int(raw) if isinstance(field, fields.Integer) and FORM_INTEGER.fullmatch(raw) else raw
    return values


def load_form(schema: ma.Schema, form: MultiDict | None = None) -> dict[str, Any]:
    """Loads a form through the API's schema; Unprocessable (422) naming each bad field otherwise."""
    try:
        return schema.load(form_input(request.form if form is None else form, schema))
    except ma.ValidationError as exc:
        raise Unprocessable("some fields are not valid", code="invalid_form", details=exc.messages) from None


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def check_request_bounds() -> None:
    """Before any view: the URL, each header and the JSON body within bounds, the body parseable."""
    # Read from the WSGI environ itself (its strings hold one character per byte, PEP 3333): building
    # request.full_path and request.headers for every request cost more than the checks.
    environ = request.environ
    if len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) + 1 > MAX_URL_BYTES:
        raise UriTooLong(f"the URL is longer than {MAX_URL_BYTES} bytes", details={"limit": MAX_URL_BYTES})
    for key, value in environ.items():
        header = key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
        if header and isinstance(value, str) and len(key) + len(value) > MAX_HEADER_BYTES:
            name = key.removeprefix("HTTP_").replace("_", "-").title()
            raise HeadersTooLarge(f"header {name} is longer than {MAX_HEADER_BYTES} bytes", details={"header": name})
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes", details={"limit": MAX_BODY_BYTES})
    if request.is_json and request.method in ("POST", "PUT", "PATCH"):
        body = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH
        # nesting needs an opening bracket per level: counting them (in C) spares nearly every body the scan
        if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
            raise BadRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", code="json_too_deep")
        try:
            json.loads(body)
        except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, an integer past the digit limit
            raise BadRequest(f"the body is not valid JSON: {exc}", code="invalid_json") from None


class IdConverter(IntegerConverter):
    """`<id:...>` in a route: a row id, 1 .. bigint's maximum; anything else is a 404 like an unknown id."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=BIGINT_MAX)


def id_parameter_schema(converter: IdConverter) -> dict:
    """The OpenAPI schema of an `<id:...>` path parameter."""
    return {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX}


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # werkzeug answers 413 (in the error shape) past it
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    app.before_request(check_request_bounds)
