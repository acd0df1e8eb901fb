"""Who the shopper is: an anonymous owner id in the signed session cookie, created at the first cart write.

The id is a customers row, so carts (Redis, keyed by it) and orders (Postgres) have one owner; nothing in a
URL grants access to them.
"""

from __future__ import annotations

from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from serving.db import database


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per secret instead of on every
    request (Flask's own builds one per request, cookie or not: a visible share of a cached read's CPU in
    `make profile-serve`). The serializer keeps no per-call state, so the threads share it."""

    _built: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        secrets = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built = self._built
        if built is None or built[0] != secrets:
            built = self._built = (secrets, super().get_signing_serializer(app))
        return built[1]


def current_shopper() -> int | None:
    """The session's customer id, or None for a visitor who has not put anything in a cart yet."""
    value = session.get("customer_id")
    return value if isinstance(value, int) else None


def ensure_shopper() -> int:
    """The session's customer id, creating an anonymous customer on first use."""
    customer_id = current_shopper()
    if customer_id is None:
        with database().connection() as conn:
            customer_id = conn.execute("INSERT INTO customers DEFAULT VALUES RETURNING id").fetchone()["id"]
        session["customer_id"] = customer_id
        session.permanent = True
    return customer_id
