"""`make demo`, after services, schema, demo data and the OLTP catalog are in place (the Makefile does those):

storefront up (gunicorn, left running) -> shoppers place orders through the JSON API -> Airflow runs
lake_rebuild (historical import -> curated -> marts -> GX gate -> registration -> Asset event) and then
orders_pipeline for the window holding the new orders -> prints the Black Friday summary and season to date, the
storefront URL and, last, the dashboard's address. Every Airflow run's log goes to .local/demo/<dag>.log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests
from rich.console import Console
from rich.progress import track
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from pipeline import airflow_setup
from support.shopper import Answers, Catalog, Habits, Shopper

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / ".local" / "demo"
console = Console()
DEMO_HABITS = Habits(
    search_share=0.0,
    items=(1, 2, 3),
    shipping={"name": "Demo Shopper", "address": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
)


class DemoError(RuntimeError):
    """A demo step failed; the message says which and where its log is."""


def internal_url(base_url: str) -> str:
    """The storefront's internal listener (probes, metrics, admin, API docs): BFP_INTERNAL_BIND, else the
    public port + 1, as serving/gunicorn.conf.py binds it."""
    bind = os.environ.get("BFP_INTERNAL_BIND")
    if bind:
        return f"http://{bind}"
    host, _, port = base_url.rpartition(":")
    return f"{host}:{int(port) + 1}"


@retry(stop=stop_after_delay(60), wait=wait_fixed(0.5), retry=retry_if_exception_type(requests.RequestException))
def wait_ready(base_url: str) -> None:
    requests.get(f"{internal_url(base_url)}/readyz", timeout=2).raise_for_status()


def start_storefront(base_url: str) -> str:
    """Reuses a storefront that already answers, else starts scripts/serve.sh in the background."""
    try:
        requests.get(f"{internal_url(base_url)}/readyz", timeout=2).raise_for_status()
        return "already running"
    except requests.RequestException:
        pass
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = (LOG_DIR / "storefront.log").open("ab")
    # the demo's shoppers all come from 127.0.0.1 within a minute: more new sessions than one address may open
    env = {**os.environ, "BFP_NEW_SHOPPER_RATE_LIMIT": os.environ.get("BFP_NEW_SHOPPER_RATE_LIMIT", "600 per minute")}
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, stdout=log, stderr=log, start_new_session=True, env=env
    )
    (ROOT / ".local" / "storefront.pid").write_text(str(process.pid))
    try:
        wait_ready(base_url)
    except requests.RequestException as exc:
        raise DemoError(f"the storefront did not become ready: {exc}; see {LOG_DIR / 'storefront.log'}") from None
    return f"started (pid {process.pid}; stop with: kill $(cat .local/storefront.pid))"


def shop(base_url: str, shoppers: int, seed: int) -> list[int]:
    """Each shopper (a session of its own) browses a category, looks at a product, puts 1-3 products in the cart
    and checks out through the API (support/shopper.py, the drills' shopper)."""
    rng = random.Random(seed)
    listed = requests.get(f"{base_url}/api/v1/categories", timeout=10).json()
    categories = [category["code"] for category in listed if category["product_count"]]
    products = []
    for category in rng.sample(categories, k=min(8, len(categories))):
        page = requests.get(f"{base_url}/api/v1/categories/{category}/products", params={"limit": 24}, timeout=10)
        page.raise_for_status()
        products += [item["id"] for item in page.json()["items"]]
    catalog, answers = Catalog(tuple(products), tuple(categories)), Answers()
    orders = []
    for n in track(range(shoppers), description="shoppers checking out", console=console):
        order_id = Shopper(base_url, catalog, answers, threading.Event(), DEMO_HABITS, seed=seed + n).visit()
        # 409: an item sold out meanwhile, which a real shop sees too; anything else but 2xx is a fault
        unexpected = {status: count for status, count in answers.statuses.items() if status not in (200, 201, 409)}
        if unexpected:
            raise DemoError(f"the storefront answered {unexpected} (status: count); see {LOG_DIR / 'storefront.log'}")
        if order_id is not None:
            orders.append(order_id)
    return orders


def airflow_dag_test(dag_id: str, conf: dict, env: dict) -> None:
    """One DAG run through Airflow (`airflow dags test`), its log in .local/demo/<dag_id>.log."""
    log_path = LOG_DIR / f"{dag_id}.log"
    with log_path.open("w") as log, console.status(f"Airflow: {dag_id} {json.dumps(conf)}"):
        done = subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), "dags", "test", dag_id, "--conf", json.dumps(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        raise DemoError(f"the {dag_id} run failed; read {log_path} (and docs/runbook.md)")
    if '"bfp_task": "publish"' not in log_path.read_text():
        raise DemoError(f"{dag_id} finished without a publish line; read {log_path}")
    console.print(f"[green]✓[/green] {dag_id}: published — log {log_path.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", default="data/demo/amazon-purchases.csv")
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bind", default=os.environ.get("BFP_BIND", "127.0.0.1:8000"))
    args = parser.parse_args(argv)
    base_url = f"http://{args.bind}"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        console.rule("[bold]1/4 storefront")
        console.print(f"storefront {start_storefront(base_url)} on {base_url}/", soft_wrap=True)

        console.rule("[bold]2/4 shoppers")
        orders = shop(base_url, args.shoppers, args.seed)
        with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
            window_end = conn.execute("SELECT now()").fetchone()[0].astimezone(dt.UTC)
        console.print(f"{len(orders)} orders placed through the API (ids {min(orders)}..{max(orders)})")

        console.rule("[bold]3/4 Airflow: lake_rebuild, then orders_pipeline")
        # The demo's window ends now: no lag (the extract still checks that no transaction before it is open).
        env = {**os.environ, "BFP_EXTRACT_LAG_SECONDS": "0"}
        env[airflow_setup.METADATA_URL_SETTING] = airflow_setup.metadata_url(env)  # as `make airflow` uses it
        subprocess.run([sys.executable, "-m", "pipeline.airflow_setup"], env=env, check=True)  # db + the pool
        purchases = str((ROOT / args.purchases).resolve())
        airflow_dag_test("lake_rebuild", {"purchases_csv": purchases, "import_id": "demo"}, env)
        window = {
            "window_start": (window_end - dt.timedelta(hours=1)).isoformat(),
            "window_end": window_end.isoformat(),
        }
        airflow_dag_test("orders_pipeline", window, env)

        console.rule("[bold]4/4 what analysts see")
        from analytics import __main__ as analytics_cli
        from analytics import dashboard

        analytics_cli.main(["query", "black_friday_by_year"])
        analytics_cli.main(["query", "season_to_date"])
        analytics_cli.main(
            [
                "query",
                "--sql",
                "SELECT source, count(DISTINCT order_id) AS orders, "
                "CAST(sum(revenue) AS DOUBLE) AS revenue FROM curated.order_lines GROUP BY 1 ORDER BY 1",
            ]
        )
        path = dashboard.render(None, str(ROOT / "data" / "report"))
    except DemoError as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        return 1
    console.print(f"Storefront:          {base_url}/  (API docs {internal_url(base_url)}/api/v1/docs)", soft_wrap=True)
    console.print(f"Demo finished in {time.monotonic() - started:.0f} s")
    console.print(f"Black Friday dashboard: {path.resolve().as_uri()}", soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
