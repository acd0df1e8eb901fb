"""The storefront deployable: `create_app()` builds the Flask app (pages, JSON API, ops endpoints)."""

from __future__ import annotations

import datetime as dt
import time

import psycopg
from flask import Flask, g, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from serving.config import ServingConfig

HSTS = "max-age=31536000; includeSubDomains"  # a year: browsers go straight to HTTPS after the first visit


def create_app(config: ServingConfig | None = None) -> Flask:
    """The storefront app; settings from the environment unless given (tests pass their own)."""
    from serving import metrics
    from serving.api import init_api
    from serving.cache import Cache, redis_client
    from serving.cart.pages import bp as cart_pages
    from serving.catalog import queries
    from serving.catalog.pages import bp as catalog_pages
    from serving.checkout.pages import bp as checkout_pages
    from serving.db import Database
    from serving.errors import StorefrontError, register_error_handlers
    from serving.identity import SessionInterface
    from serving.listeners import init_app as init_listeners
    from serving.ops.routes import bp as ops
    from serving.orders.pages import bp as orders_pages
    from serving.ratelimit import Limiter
    from serving.validation import init_app as init_validation

    config = config or ServingConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        BFP=config,
        SECRET_KEY=config.secret_key,
        # earlier keys still verify (sessions, page cursors) while every new signature uses SECRET_KEY: a key is
        # rotated by moving it here for the sessions' lifetime, nobody logged out
        SECRET_KEY_FALLBACKS=list(config.secret_key_fallbacks),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=30),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if config.https:
        # __Host-: the browser keeps it only if Secure, Path=/ and no Domain, so no subdomain or plain-HTTP page
        # can set or overwrite the shopper's session
        app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-session", SESSION_COOKIE_PATH="/")
    app.session_interface = SessionInterface()
    init_listeners(app)  # internal paths only on the internal listener, shoppers' only on the public one
    init_validation(app)  # bounds on URL, headers and body before any view runs
    app.extensions["bfp_database"] = Database(config)
    app.extensions["bfp_cache"] = Cache(config)
    app.extensions["bfp_state_redis"] = redis_client(config.state_redis_url, config, "state")

    app.extensions["bfp_limiter"] = Limiter(config)
    if config.trusted_proxies:
        # the client address is the one the last `trusted_proxies` hops saw (the ALB appends the peer it saw);
        # entries further left are the client's own claim and never used
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies, x_proto=config.trusted_proxies)
    csrf = CSRFProtect(app)
    for blueprint in init_api(app):
        csrf.exempt(blueprint)  # JSON only: browsers cannot send it cross-site without a CORS preflight
    for blueprint in (catalog_pages, cart_pages, checkout_pages, orders_pages, ops):
        app.register_blueprint(blueprint)
    register_error_handlers(app)

    @app.context_processor
    def layout_helpers():
        def menu():
            try:
                return queries.categories()
            except (StorefrontError, psycopg.Error):
                return []  # the error page still renders when the database is down

        return {"menu": menu}

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def record_request(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        if "started" in g:
            metrics.request_seconds(endpoint, metrics.method_label(request.method)).observe(
                time.perf_counter() - g.started
            )
        metrics.responses(endpoint, response.status_code).inc()
        if config.https or request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response

    return app
