"""/livez (the process answers), /readyz (Postgres and Redis answer), /metrics (Prometheus, all workers)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from serving import metrics
from serving.cache import cache
from serving.db import database

bp = Blueprint("ops", __name__)


@bp.route("/livez")
def livez():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = {"redis": "ok" if cache().ping() else "unreachable"}
    try:
        with database().connection() as conn:
            conn.execute("SELECT 1")
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure (pool busy, connection refused) means not ready
        checks["postgres"] = f"unreachable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify(status="ready" if ready else "not ready", checks=checks)
    response.status_code = 200 if ready else 503
    return response


@bp.route("/metrics")
def prometheus_metrics():
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
