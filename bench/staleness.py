"""How long a product change stays invisible, for `make bench-serve`: readers on many keep-alive connections
(spread over the workers by the kernel, each connection staying on one worker) read one hot product without
pause while the admin endpoint changes its price or stock; a read sent after the change was acknowledged that
still shows the old value is stale, and its answer's arrival minus the acknowledgement is the staleness.
The acknowledgement comes after the commit, so the figure is measured from the moment a client could know.
A control change made straight in PostgreSQL, behind the storefront's back (so nothing invalidates the
caches), must show stale reads: it proves the readers would see staleness if there were any.
"""

from __future__ import annotations

import threading
import time

import psycopg
import requests


def worst_staleness(
    url: str,
    admin_url: str,
    product_id: int,
    admin_token: str,
    database_url: str,
    changes: int = 20,
    readers: int = 16,
    settle_seconds: float = 0.3,
) -> dict:
    """Runs `changes` changes (price and stock alternately) and the control; returns the worst staleness and
    the read counts of both."""
    product_url = f"{url}/api/v1/products/{product_id}"
    lock = threading.Lock()
    state = {"phase": "changes", "field": None, "value": None, "acked_at": None}
    counts = {phase: {"reads": 0, "stale": 0, "worst_s": 0.0} for phase in ("changes", "control")}
    stop = threading.Event()

    def reader() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                with lock:
                    phase, field, expected, acked_at = (state[k] for k in ("phase", "field", "value", "acked_at"))
                sent = time.perf_counter()
                shown = session.get(product_url, timeout=5).json()
                answered = time.perf_counter()
                if acked_at is None or sent < acked_at:
                    continue  # sent before the change was acknowledged: either value is right
                with lock:
                    if state["acked_at"] != acked_at:
                        continue  # a later change began meanwhile
                    counts[phase]["reads"] += 1
                    if shown[field] != expected:
                        counts[phase]["stale"] += 1
                        counts[phase]["worst_s"] = max(counts[phase]["worst_s"], answered - acked_at)

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(readers)]
    for thread in threads:
        thread.start()
    headers = {"Authorization": f"Bearer {admin_token}"}
    with requests.Session() as admin:
        original = admin.get(product_url, timeout=5).json()
        for change in range(changes):
            field, value = ("price", f"{1 + change}.{change:02d}") if change % 2 == 0 else ("stock", 5_000_000 + change)
            with lock:
                state["acked_at"] = None
            response = admin.patch(
                f"{admin_url}/api/v1/admin/products/{product_id}", json={field: value}, headers=headers
            )
            response.raise_for_status()
            with lock:
                state.update(field=field, value=value, acked_at=time.perf_counter())
            time.sleep(settle_seconds)  # the readers keep reading the changed product meanwhile
        with lock:
            state["acked_at"] = None
        with psycopg.connect(database_url, autocommit=True) as conn:
            price = conn.execute(
                "UPDATE products SET price = price + 1 WHERE id = %s RETURNING price::text", (product_id,)
            ).fetchone()[0]
        with lock:
            state.update(phase="control", field="price", value=price, acked_at=time.perf_counter())
        time.sleep(settle_seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        admin.patch(
            f"{admin_url}/api/v1/admin/products/{product_id}",
            json={"price": original["price"], "stock": original["stock"]},
            headers=headers,
        ).raise_for_status()
    return {
        "changes": changes,
        "readers": readers,
        "reads_after_ack": counts["changes"]["reads"],
        "stale_reads": counts["changes"]["stale"],
        "worst_ms": 1000 * counts["changes"]["worst_s"],
        "control_reads": counts["control"]["reads"],
        "control_stale": counts["control"]["stale"],
    }
