"""The JSON API under /api/v1: flask-smorest generates /api/v1/openapi.json from the blueprints' schemas."""

from __future__ import annotations

import warnings
from pathlib import Path

import flask_swagger_ui
from flask import Flask, send_from_directory
from flask_smorest import Api, Blueprint

from serving.schemas import ErrorSchema
from serving.validation import IdConverter, id_parameter_schema

# A text field with a pattern of its own also carries the NUL check (serving.validation.Text): the spec shows
# the field's own pattern, which excludes NUL as well.
warnings.filterwarnings("ignore", message="More than one regex validator", category=UserWarning)


SWAGGER_UI_ASSETS = "/api/v1/docs/assets/"
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"  # Swagger UI at the package's pinned version


def swagger_ui_asset(name: str):
    return send_from_directory(SWAGGER_UI_DIST, name, max_age=86400)


class StorefrontApi(Api):
    """flask-smorest's Api with the storefront's error body ({code, message, details}) in the spec."""

    ERROR_SCHEMA = ErrorSchema


def init_api(app: Flask) -> list[Blueprint]:
    """Registers the API blueprints (and the spec routes) on `app`; returns the blueprints."""
    docs = app.config["BFP"].api_docs
    if docs:
        app.add_url_rule(f"{SWAGGER_UI_ASSETS}<path:name>", "swagger_ui_asset", swagger_ui_asset)
    app.config.update(
        API_TITLE="Black Friday storefront",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        # Human-readable docs at /api/v1/docs (internal listener, BFP_API_DOCS=on): Swagger UI's files come from
        # the pinned flask-swagger-ui package, served by the app itself (no CDN script on the shop's origin);
        # the spec is always at /api/v1/openapi.json.
        **({"OPENAPI_SWAGGER_UI_PATH": "docs", "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_ASSETS} if docs else {}),
        API_SPEC_OPTIONS={
            "info": {"description": "Catalog, cart, checkout and order history of the storefront."},
            "servers": [{"url": "/"}],
        },
    )
    api = StorefrontApi(app)
    api.register_converter(IdConverter, id_parameter_schema)
    from serving.admin.api import blp as admin_blp
    from serving.cart.api import blp as cart_blp
    from serving.catalog.api import blp as catalog_blp
    from serving.checkout.api import blp as checkout_blp
    from serving.orders.api import blp as orders_blp

    blueprints = [catalog_blp, cart_blp, checkout_blp, orders_blp, admin_blp]
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return blueprints
