"""Errors the storefront answers with: JSON `{code, message, details}` under /api, an HTML page elsewhere."""

from __future__ import annotations

from typing import Any

import psycopg
from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class StorefrontError(Exception):
    """An error with an HTTP status, a stable machine-readable code and a message for people."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details


class BadRequest(StorefrontError):
    status, code = 400, "bad_request"


class Unauthorized(StorefrontError):
    status, code = 401, "unauthorized"


class NotFound(StorefrontError):
    status, code = 404, "not_found"


class Conflict(StorefrontError):
    status, code = 409, "conflict"


class PayloadTooLarge(StorefrontError):
    status, code = 413, "payload_too_large"


class UriTooLong(StorefrontError):
    status, code = 414, "uri_too_long"


class Unprocessable(StorefrontError):
    status, code = 422, "unprocessable"


class HeadersTooLarge(StorefrontError):
    status, code = 431, "request_header_fields_too_large"


class ServiceUnavailable(StorefrontError):
    """A dependency is busy or down; the client should retry after `retry_after` seconds."""

    status, code = 503, "service_unavailable"
    retry_after = 1


def error_response(status: int, code: str, message: str, details: Any = None, retry_after: int | None = None):
    """The response for an error: JSON for API clients, the error page for browsers."""
    if request.path.startswith("/api/"):
        response = jsonify(code=code, message=message, details=details if details is not None else {})
    else:
        response = Response(render_template("error.html", status=status, message=message, details=details))
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def handle_storefront_error(exc: StorefrontError):
    return error_response(exc.status, exc.code, exc.message, exc.details, getattr(exc, "retry_after", None))


def handle_http_exception(exc: HTTPException):
    """Werkzeug's own errors (404 route, 405, 400 bad JSON, 422 from argument parsing) in the same shape."""
    data = getattr(exc, "data", None) or {}
    details = data.get("messages") if isinstance(data, dict) else None
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, exc.description or exc.name, details)


def handle_database_lost(exc: psycopg.OperationalError):
    """The database went away or timed out mid-request (a restart, an RDS failover): nothing was committed
    (checkout commits last), so the client may retry; a checkout retried with the same Idempotency-Key makes
    the order once. 503 + Retry-After, never a 500."""
    from serving import metrics

    if isinstance(exc, psycopg.errors.LockNotAvailable):  # lock_timeout: a hot row, not a lost database
        metrics.CHECKOUTS.labels("lock_timeout").inc()
        return error_response(
            503, "busy", "too many shoppers are buying the same item right now; nothing was changed, retry", {}, 1
        )
    metrics.DATABASE_LOST.inc()
    return error_response(
        503, "database_unavailable", "the database did not answer; nothing was changed, retry in a second", {}, 1
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(StorefrontError, handle_storefront_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(psycopg.OperationalError, handle_database_lost)
