"""The app factory and its settings: required settings fail at start-up with a clear message."""

from __future__ import annotations

import pytest

from serving import create_app
from serving.config import ConfigError, ServingConfig


def test_a_missing_secret_key_fails_at_start_up_naming_the_variable(monkeypatch):
    monkeypatch.delenv("BFP_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="BFP_SECRET_KEY must be set"):
        create_app()


@pytest.mark.parametrize(("name", "value"), [("BFP_DB_POOL_SIZE", "many"), ("BFP_DB_POOL_WAIT_SECONDS", "-1")])
def test_a_malformed_number_names_the_variable_and_value(name, value):
    with pytest.raises(ConfigError, match=f"{name}='{value}'"):
        ServingConfig.from_env({"BFP_SECRET_KEY": "s" * 32, name: value})


def test_liveness_readiness_and_metrics(client):
    assert client.get("/livez").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}  # this process: no dependency call
    client.get("/api/v1/categories")
    exposition = client.get("/metrics").get_data(as_text=True)
    assert 'storefront_dependency_up{dependency="postgres"} 1.0' in exposition
    assert 'storefront_dependency_up{dependency="redis_cache"} 1.0' in exposition
    assert 'storefront_dependency_up{dependency="redis_state"} 1.0' in exposition
    assert 'storefront_request_seconds_count{endpoint="/api/v1/categories",method="GET"}' in exposition
    assert "storefront_db_pool_wait_seconds_bucket" in exposition


def test_unknown_pages_are_html_and_unknown_api_paths_are_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.content_type.startswith("text/html")
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert set(api.get_json()) == {"code", "message", "details"}
