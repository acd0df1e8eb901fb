"""The internal listener's operations endpoints: /livez, /readyz, /metrics (Prometheus, all workers).

Readiness reflects this process only: a pod is ready when it can serve, and it can serve through a Redis or
PostgreSQL blip (reads fall back, carts and checkouts answer 503 with Retry-After). Were readiness to need
them, one blip would mark every pod unready at once and leave the Service with no endpoints, turning a
degraded shop into a closed one. Dependency health is measured instead, at each scrape, into
`storefront_dependency_up` (docker/prometheus/storefront-alerts.yml alerts on it).
"""

from __future__ import annotations

import psycopg
from flask import Blueprint, Response, jsonify

from serving import metrics
from serving.cache import cache, pings, state_redis
from serving.db import database
from serving.errors import StorefrontError

bp = Blueprint("ops", __name__)


@bp.route("/livez")
def livez():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    """Ready once the app is built (this answer is its proof); no dependency call."""
    return jsonify(status="ready")


def probe_dependencies() -> dict[str, bool]:
    """One bounded call to each dependency (the clients' own short timeouts), recorded as gauges."""
    up = {"redis_cache": pings(cache().client), "redis_state": pings(state_redis())}
    try:
        with database().connection() as conn:
            conn.execute("SELECT 1")
        up["postgres"] = True
    except (StorefrontError, psycopg.Error):  # pool busy (503), refused, timed out: down for this scrape
        up["postgres"] = False
    for name, answered in up.items():
        metrics.DEPENDENCY_UP.labels(name).set(1 if answered else 0)
    return up


@bp.route("/metrics")
def prometheus_metrics():
    probe_dependencies()
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
