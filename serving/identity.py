"""Who the shopper is: an anonymous owner id in the signed session cookie, created at the first cart write.

The id is a customers row, so carts (Redis, keyed by it) and orders (Postgres) have one owner; nothing in a
URL grants access to them.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from serving.db import database
from serving.ratelimit import check_new_shopper_rate


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions (30 days, sliding), at less CPU per request (`make profile-serve`):

    - the signing serializer is built once per secret, not on every request (it keeps no per-call state, so
      the threads share it);
    - an unchanged session is re-signed and sent again only when its cookie is older than RENEW_AFTER, not on
      every response: the expiry still slides with the shopper's visits (renewed at least daily), and a
      response without Set-Cookie is also one a cache may keep.
    """

    RENEW_AFTER = dt.timedelta(days=1)
    _built: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        secrets = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built = self._built
        if built is None or built[0] != secrets:
            built = self._built = (secrets, super().get_signing_serializer(app))
        return built[1]

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            data, signed_at = serializer.loads(
                cookie, max_age=int(app.permanent_session_lifetime.total_seconds()), return_timestamp=True
            )
        except BadSignature:
            return self.session_class()
        opened = self.session_class(data)
        opened.signed_at = signed_at
        return opened

    def should_set_cookie(self, app: Flask, session: SecureCookieSession) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or dt.datetime.now(dt.UTC) - signed_at > self.RENEW_AFTER


def current_shopper() -> int | None:
    """The session's customer id, or None for a visitor who has not put anything in a cart yet."""
    value = session.get("customer_id")
    return value if isinstance(value, int) else None


def ensure_shopper() -> int:
    """The session's customer id, creating an anonymous customer on first use: only a write that needs an owner
    (a line into a cart) calls it. New identities are limited per client address (429 past it), so a script
    minting a fresh session per order runs into that limit, not into the stock."""
    customer_id = current_shopper()
    if customer_id is None:
        check_new_shopper_rate()
        with database().connection() as conn:
            customer_id = conn.execute("INSERT INTO customers DEFAULT VALUES RETURNING id").fetchone()["id"]
        session["customer_id"] = customer_id
        session.permanent = True
    return customer_id


def shopper_for(quantity: int) -> int | None:
    """The owner a cart write of `quantity` needs: one is created only to put something in (a removal, 0, from
    a visitor without a cart needs none)."""
    return ensure_shopper() if quantity > 0 else current_shopper()
