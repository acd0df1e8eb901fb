"""Well-formed but hostile traffic, one class per test: inventory hoarding past purchase limits, identity
minting, search the index cannot serve, a checkout queued on a hot row, a flood of unique cache keys, the
edge's defaults (the internal listener, HTTPS cookies and HSTS, the admin token and its audit), and a cart
changed while its checkout ran. The frozen Redis's breaker is in test_faults.py (it freezes its own Redis)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import redis
from psycopg.conninfo import make_conninfo

from serving.config import ConfigError, ServingConfig
from tests.serving.conftest import ADMIN_TOKEN, SHIPPING, product_in_stock, wait_until

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def checkout(client, key: str, shipping: dict = SHIPPING):
    return client.post("/api/v1/checkout", json=shipping, headers={"Idempotency-Key": key})


def buy(app, product_id: int, quantity: int, shipping: dict, key: str, client_ip: str | None = None) -> int:
    """A new session (a new client: no cookie) puts the product in its cart and checks out; the status.
    `client_ip`: the address the trusted proxy saw (an app built with trusted_proxies=1)."""
    client = app.test_client()
    headers = {"X-Forwarded-For": client_ip} if client_ip else {}
    added = client.post("/api/v1/cart/items", json={"product_id": product_id, "quantity": quantity}, headers=headers)
    if added.status_code != 200:
        return added.status_code
    return client.post("/api/v1/checkout", json=shipping, headers={"Idempotency-Key": key, **headers}).status_code


def test_a_doorbuster_limit_holds_per_customer_and_per_address_across_sessions_and_spellings(make_app, sql):
    app = make_app(trusted_proxies=1)
    client = app.test_client()
    product = product_in_stock(sql)
    limit = client.put(
        f"/api/v1/admin/products/{product['id']}/purchase-limit",
        json={"per_customer": 2, "per_address": 3},
        headers=ADMIN,
    )
    assert limit.status_code == 200 and limit.get_json() == {
        "product_id": product["id"],
        "per_customer": 2,
        "per_address": 3,
    }

    shopper = app.test_client()
    assert shopper.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2}).status_code == 200
    assert checkout(shopper, "first").status_code == 201
    assert shopper.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 1}).status_code == 200
    over = checkout(shopper, "second", {**SHIPPING, "address": "9 Other Road"})  # another address: still 2 per customer
    assert over.status_code == 409
    assert over.get_json()["code"] == "purchase_limit"
    title = over.get_json()["details"]["items"][0]["title"]
    assert over.get_json()["details"]["items"] == [
        {"product_id": product["id"], "title": title, "limit_per": per, "limit": 2, "already_bought": 2, "requested": 1}
        for per in ("customer", "network")  # the same client: its network may buy what one customer may
    ]
    # a script minting sessions, spelling the one address differently each time, from networks of its own
    spellings = ["1 MAIN STREET", "1 main st.", " 1  Main   St #", "1 Main Street"]
    statuses = [
        buy(app, product["id"], 1, {**SHIPPING, "address": spelled, "zip": "73301-0001"}, f"s{i}", f"198.51.{i}.9")
        for i, spelled in enumerate(spellings)
    ]
    assert statuses == [201, 409, 409, 409]  # 2 + 1 = the address's 3, then refused
    bought = sql.execute(
        "SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
        "WHERE i.product_id = %s",
        (product["id"],),
    ).fetchone()[0]
    assert bought == 3
    audit = sql.execute("SELECT action, product_id, after->>'per_address' FROM admin_audit").fetchall()
    assert audit == [("set_purchase_limit", product["id"], "3")]


def test_concurrent_sessions_racing_for_a_limited_product_never_pass_its_address_limit(make_app, sql):
    app = make_app(trusted_proxies=1)
    product = product_in_stock(sql)
    app.test_client().put(
        f"/api/v1/admin/products/{product['id']}/purchase-limit",
        json={"per_customer": 1, "per_address": 2},
        headers=ADMIN,
    )
    with ThreadPoolExecutor(8) as pool:  # each from a network of its own: the household is what is shared
        statuses = list(
            pool.map(lambda i: buy(app, product["id"], 1, SHIPPING, f"race-{i}", f"198.51.{i}.1"), range(16))
        )
    assert sorted(statuses) == [201, 201] + [409] * 14
    tally = sql.execute(
        "SELECT quantity FROM purchase_tallies WHERE product_id = %s AND holder LIKE 'address:%%'", (product["id"],)
    ).fetchall()
    assert tally == [(2,)]


def test_purchase_limits_are_admin_only_validated_and_removable(client, sql):
    product = product_in_stock(sql)
    url = f"/api/v1/admin/products/{product['id']}/purchase-limit"
    assert client.put(url, json={"per_customer": 1, "per_address": 1}).status_code == 401
    bad = client.put(url, json={"per_customer": 0, "per_address": "2"}, headers=ADMIN)
    assert bad.status_code == 422 and set(bad.get_json()["details"]["json"]) == {"per_customer", "per_address"}
    assert (
        client.put(
            "/api/v1/admin/products/999999999/purchase-limit", json={"per_customer": 1, "per_address": 1}, headers=ADMIN
        ).status_code
        == 404
    )
    assert client.put(url, json={"per_customer": 1, "per_address": 1}, headers=ADMIN).status_code == 200
    assert client.delete(url, headers=ADMIN).status_code == 204
    assert client.delete(url, headers=ADMIN).status_code == 404
    actions = [row[0] for row in sql.execute("SELECT action FROM admin_audit ORDER BY id").fetchall()]
    assert actions == ["set_purchase_limit", "remove_purchase_limit"]


def test_new_shopper_identities_are_limited_per_client_address_behind_trusted_proxies(make_app, sql):
    app = make_app(new_shopper_rate_limit="3 per minute", trusted_proxies=1)
    product = product_in_stock(sql)
    customers_before = sql.execute("SELECT count(*) FROM customers").fetchone()[0]

    def add(forwarded_for: str) -> int:
        client = app.test_client()  # no cookie: a new shopper each time
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/api/v1/cart/items", json={"product_id": product["id"]}, headers=headers).status_code

    # the client's own X-Forwarded-For entries are not trusted: the proxy's (last) one counts
    assert [add(f"10.0.0.{i}, 203.0.113.7") for i in range(5)] == [200, 200, 200, 429, 429]
    assert add("203.0.113.8") == 200  # another address has its own budget
    assert sql.execute("SELECT count(*) FROM customers").fetchone()[0] == customers_before + 4

    limited = app.test_client().post(
        "/api/v1/cart/items", json={"product_id": product["id"]}, headers={"X-Forwarded-For": "203.0.113.7"}
    )
    assert limited.get_json()["details"]["limit"] == "new_shopper" and int(limited.headers["Retry-After"]) > 0


def test_a_cart_write_that_needs_no_owner_creates_no_customer(client, sql):
    product = product_in_stock(sql)
    before = sql.execute("SELECT count(*) FROM customers").fetchone()[0]
    assert client.put(f"/api/v1/cart/items/{product['id']}", json={"quantity": 0}).status_code == 200
    assert client.delete(f"/api/v1/cart/items/{product['id']}").status_code == 404
    assert client.post("/api/v1/cart/items", json={"product_id": 999999999}).status_code == 404
    assert client.post("/cart/update", data={"product_id": product["id"], "quantity": 0}).status_code in (303, 400)
    assert sql.execute("SELECT count(*) FROM customers").fetchone()[0] == before


@pytest.mark.parametrize("text", ["%%%", "___", "!!!", "a b c d", "%_%_%_"])
def test_search_text_the_trigram_index_cannot_serve_is_refused_before_the_database(client, text):
    response = client.get("/api/v1/search", query_string={"q": text})
    assert response.status_code == 422  # the spec's pattern for q says so too
    assert response.get_json()["details"]["query"]["q"] == [
        "needs a word of at least 3 letters or digits (e.g. 'usb' or 'lamp')"
    ]
    page = client.get("/search", query_string={"q": text})
    assert page.status_code == 200 and "letters or digits" in page.get_data(as_text=True)


def test_searches_are_rate_limited_per_client_address(make_app):
    client = make_app(search_rate_limit="3 per minute").test_client()
    statuses = [client.get("/api/v1/search", query_string={"q": f"mug {i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_searches_hold_at_most_their_share_of_the_pool(make_app, oltp_url):
    """A flood of slow searches holds `search_connections` pooled connections, not the whole pool: with the
    titles locked (a slow search for real), one search waits on the lock and the others are shed at once."""
    app = make_app(search_connections=1, lock_timeout_ms=5000, db_pool_wait_seconds=0.5)  # the others shed
    with psycopg.connect(oltp_url) as locker:
        locker.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(4) as pool:
            searches = [
                pool.submit(lambda i=i: app.test_client().get("/api/v1/search", query_string={"q": f"lamp {i}"}))
                for i in range(4)
            ]
            wait_until(lambda: sum(s.done() for s in searches) == 3, 20, "three searches to be shed")
            with psycopg.connect(oltp_url, autocommit=True) as watcher:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                ).fetchone()[0]
            shed = [s.result() for s in searches if s.done()]
            (held,) = [s for s in searches if not s.done()]
            locker.rollback()  # the held search proceeds
            held = held.result(timeout=30)
    assert waiting == 1  # one search on the lock, holding one connection; the pool's others stayed free
    assert [(r.status_code, r.get_json()["code"]) for r in shed] == [(503, "search_busy")] * 3
    assert held.status_code == 200


def test_a_checkout_queued_on_a_locked_product_gives_up_with_503_and_frees_its_connection(make_app, sql, oltp_url):
    app = make_app(lock_timeout_ms=300)
    client = app.test_client()
    product = product_in_stock(sql)
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
    with psycopg.connect(oltp_url) as holder:
        holder.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (product["id"],))
        answer = checkout(client, "held")
    assert answer.status_code == 503 and answer.get_json()["code"] == "busy" and answer.headers["Retry-After"] == "1"
    assert checkout(client, "held").status_code == 201  # nothing was committed: the same key places it now
    pool = app.extensions["bfp_database"].pool()
    assert pool.get_stats()["pool_available"] == pool.get_stats()["pool_size"]


def test_the_ordered_lines_leave_the_cart_but_a_line_changed_meanwhile_stays(app, client, sql):
    first, second = (row[0] for row in sql.execute("SELECT id FROM products WHERE stock > 5 ORDER BY id LIMIT 2"))
    assert client.post("/api/v1/cart/items", json={"product_id": first, "quantity": 2}).status_code == 200
    customer_id = sql.execute("SELECT max(id) FROM customers").fetchone()[0]
    from serving.cart import store

    with app.app_context():
        ordered = store.quantities(customer_id)  # what the checkout read
        store.add(customer_id, second, 1)  # the shopper adds a line in another tab while it runs ...
        store.set_quantity(customer_id, first, 3)  # ... and changes the ordered one
        store.remove_ordered(customer_id, ordered)
        assert store.quantities(customer_id) == {first: 3, second: 1}
        store.remove_ordered(customer_id, {first: 3, second: 1})
        assert store.quantities(customer_id) == {}


def test_internal_paths_answer_only_on_the_internal_listener(make_app):
    client = make_app(internal_port=9000).test_client()
    internal = "http://localhost:9000"
    for path in ("/metrics", "/readyz", "/livez", "/api/v1/openapi.json", "/api/v1/docs"):
        assert client.get(path).status_code == 404, path
        assert client.get(path, base_url=internal).status_code == 200, path
    assert client.patch("/api/v1/admin/products/1", json={}, headers=ADMIN).status_code == 404
    assert client.patch("/api/v1/admin/products/1", json={}, headers=ADMIN, base_url=internal).status_code == 200
    assert client.get("/api/v1/categories").status_code == 200
    assert client.get("/api/v1/categories", base_url=internal).status_code == 404
    docs = client.get("/api/v1/docs", base_url=internal).get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs
    assert client.get("/api/v1/docs/assets/swagger-ui.css", base_url=internal).status_code == 200


def test_api_docs_can_be_turned_off(make_app):
    client = make_app(api_docs=False).test_client()
    assert client.get("/api/v1/docs").status_code == 404
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_over_https_the_session_cookie_is_secure_host_only_and_hsts_is_sent(make_app, sql):
    client = make_app(https=True).test_client()
    product = product_in_stock(sql)
    answer = client.post("/api/v1/cart/items", json={"product_id": product["id"]}, base_url="https://localhost")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cart = client.get("/api/v1/cart", base_url="https://localhost").get_json()
    assert [line["product_id"] for line in cart["lines"]] == [product["id"]]  # the renamed cookie is read back


def test_a_short_admin_token_is_refused_at_start_up():
    with pytest.raises(ConfigError, match="BFP_ADMIN_TOKEN must be at least 32 characters"):
        ServingConfig.from_env({"BFP_SECRET_KEY": "s" * 32, "BFP_ADMIN_TOKEN": "admin"})


def test_an_admin_change_is_audited_with_before_and_after(client, sql):
    product = product_in_stock(sql)
    changed = client.patch(f"/api/v1/admin/products/{product['id']}", json={"price": "1.23"}, headers=ADMIN)
    assert changed.status_code == 200
    row = sql.execute("SELECT actor, action, before->>'price', after->>'price' FROM admin_audit").fetchone()
    assert row[0].startswith("token:") and ADMIN_TOKEN not in row[0]
    assert row[1:] == ("change_product", f"{product['price']:.2f}", "1.23")
    assert str(sql.execute("SELECT price FROM products WHERE id = %s", (product["id"],)).fetchone()[0]) == "1.23"


def test_carts_live_on_a_redis_that_never_evicts_and_a_cache_key_flood_evicts_only_cache_entries(
    app, client, sql, services, redis_client
):
    state = redis.Redis.from_url(services.redis_url)
    cache = redis_client  # the cache role
    assert state.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert int(state.config_get("maxmemory")["maxmemory"]) > 0 and int(cache.config_get("maxmemory")["maxmemory"]) > 0
    product = product_in_stock(sql)
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2}).status_code == 200
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 200
    assert [key.decode() for key in state.keys("cart:*")] != [] and cache.keys("cart:*") == []
    assert cache.exists(f"product:{product['id']}") and not state.exists(f"product:{product['id']}")

    bound = cache.config_get("maxmemory")["maxmemory"]
    cache.config_set("maxmemory", "4mb")  # a flood past the cache's bound, made small for the test
    try:
        with app.app_context():
            for i in range(2000):  # ~8 MB of unique cache entries through the app's own cache path
                app.extensions["bfp_cache"].get_or_load("flood", f"search:flood-{i}", 60, lambda: "x" * 4096)
        assert cache.info("stats")["evicted_keys"] > 0
        assert cache.info("memory")["used_memory"] <= 4 * 1024 * 1024 * 1.1
    finally:
        cache.config_set("maxmemory", bound)
    cart = client.get("/api/v1/cart").get_json()
    assert [(line["product_id"], line["quantity"]) for line in cart["lines"]] == [(product["id"], 2)]
    state.close()


def test_the_storefront_runs_as_a_data_only_role_that_cannot_change_the_schema(make_app, sql, oltp_url):
    """Migrations run as the schema's owner; the storefront's login is a member of storefront_app: it sells
    (cart, checkout, admin change) but cannot drop, alter, truncate or create a table, or rewrite history or the
    admin audit."""
    login = f"storefront_{uuid.uuid4().hex[:8]}"
    sql.execute(f"CREATE ROLE {login} LOGIN IN ROLE storefront_app")
    app_url = make_conninfo(oltp_url, user=login)
    app = make_app(database_url=app_url)
    try:
        client = app.test_client()
        product = product_in_stock(sql)
        assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
        assert checkout(client, "as-app").status_code == 201
        changed = client.patch(f"/api/v1/admin/products/{product['id']}", json={"stock": 5}, headers=ADMIN)
        assert changed.status_code == 200
        with psycopg.connect(app_url, autocommit=True) as conn:
            for statement in (
                "DROP TABLE orders",
                "ALTER TABLE products ADD COLUMN owned text",
                "TRUNCATE order_items",
                "CREATE TABLE mine (id int)",
                "DELETE FROM schema_migrations",
                "UPDATE admin_audit SET actor = 'someone else'",  # the audit is append-only for the app
                "DELETE FROM admin_audit",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    finally:
        app.extensions["bfp_database"].close()
        sql.execute(f"DROP ROLE {login}")  # roles are the cluster's, not the test database's


def test_the_deployed_storefront_refuses_to_start_without_its_services():
    with pytest.raises(ConfigError, match="BFP_TARGET=aws needs DATABASE_URL, REDIS_URL, BFP_CACHE_REDIS_URL"):
        ServingConfig.from_env({"BFP_SECRET_KEY": "s" * 32, "BFP_TARGET": "aws"})
    local = ServingConfig.from_env({"BFP_SECRET_KEY": "s" * 32})  # the local target keeps its defaults
    assert local.redis_url.startswith("redis://127.0.0.1")
