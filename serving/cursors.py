"""Page cursors the storefront issues: (direction, sort key, id) signed with the app's secret key for one scope
(a category and sort, a shopper's order history). A cursor forged, edited, or issued for another scope is a
400, never a query: only values the server itself produced reach the database."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from serving.errors import BadRequest


def _serializer(scope: str) -> URLSafeSerializer:
    # itsdangerous signs with the last key and verifies with any: earlier keys (SECRET_KEY_FALLBACKS) still read
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.config["SECRET_KEY"]]
    return URLSafeSerializer(keys, salt=f"bfp-cursor:{scope}")


def encode_cursor(scope: str, direction: str, key: Any, row_id: int) -> str:
    return _serializer(scope).dumps([direction, str(key), row_id])


def decode_cursor(scope: str, cursor: str) -> tuple[str, str, int]:
    """(direction, key, id) of a cursor issued for `scope`; BadRequest naming the parameter otherwise."""
    try:
        direction, key, row_id = _serializer(scope).loads(cursor)
        if direction not in ("next", "prev") or not isinstance(key, str) or type(row_id) is not int:
            raise ValueError
    except (BadData, ValueError, TypeError):
        raise BadRequest(
            "cursor is not one this API issued for this listing; start again without it",
            code="invalid_cursor",
            details={"cursor": cursor[:100]},
        ) from None
    return direction, key, row_id
