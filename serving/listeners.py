"""Two listeners, one app: the public one for shoppers and the internal one (metrics, probes, admin, API docs)
that the Kubernetes Service does not expose. gunicorn binds both (serving/gunicorn.conf.py); each request
knows the listener it came in on (SERVER_PORT is the bound socket's port, not the Host header), and a path
asked on the wrong one is a 404, as if it did not exist there.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from serving.errors import NotFound

INTERNAL_PATHS = ("/metrics", "/readyz", "/livez", "/api/v1/openapi.json")
INTERNAL_PREFIXES = ("/api/v1/admin/", "/api/v1/docs")


def is_internal(path: str) -> bool:
    return path in INTERNAL_PATHS or path.startswith(INTERNAL_PREFIXES)


def check_listener() -> None:
    internal_port = current_app.config["BFP"].internal_port
    if internal_port is None:  # one listener (the app outside gunicorn): everything on it
        return
    on_internal = request.environ.get("SERVER_PORT") == str(internal_port)
    if is_internal(request.path) != on_internal:
        where = "the internal listener" if on_internal else "this listener"
        raise NotFound(f"no {request.path} on {where}", code="not_found", details={"path": request.path})


def init_app(app: Flask) -> None:
    app.before_request(check_listener)
