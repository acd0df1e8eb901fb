"""Shared fixtures: real PostgreSQL and Redis started for the test session, a fresh database per test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from datagen import purchases
from datagen.load import load_catalog
from serving.migrate import apply_migrations
from support.services import Services, running_services

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DB = "bfp_test_template"


def worker_suffix(config: pytest.Config | None = None) -> str:
    """ "-gw0", "-gw1"... in a pytest-xdist worker (`make test` runs two), "" in a plain pytest process: each
    process is a session of its own, with its own services, Airflow home and Spark session."""
    worker = getattr(config, "workerinput", {}).get("workerid") or os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"-{worker}" if worker else ""


def pytest_configure(config: pytest.Config) -> None:
    # Airflow reads its configuration when first imported: point it at this process's own home (SQLite
    # metadata, no examples) before any test module imports it, so tests never touch ~/airflow or a developer's
    # setup. In-process DAG tests (`dag.test()`) are one writer, so SQLite serves them; the real-scheduler tests,
    # with several processes writing at once, get a PostgreSQL metadata database of their own
    # (drills/airflow_api.py).
    home = ROOT / ".local" / f"test-airflow{worker_suffix(config)}"
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    # `make system` installed every system package before pytest started; a test process never runs apt-get (two
    # of them at once fought over apt's lock): one that finds a package missing fails naming `make system`
    os.environ["BFP_INSTALL_PACKAGES"] = "no"
    # every Spark job a test submits (dag.test(), the real scheduler, spark-submit) lasts seconds on a few rows;
    # set once by the first process (xdist's workers inherit it)
    if "BFP_SPARK_CONF" not in os.environ:
        archive = spark_class_archive(config)
        options = f"{SHORT_JOB_JAVA_OPTIONS} -XX:SharedArchiveFile={archive}" if archive else SHORT_JOB_JAVA_OPTIONS
        conf = {**SHORT_JOB_SPARK_CONF, "spark.driver.extraJavaOptions": options}
        os.environ["BFP_SPARK_CONF"] = ",".join(f"{key}={value}" for key, value in conf.items())


# Test jobs last seconds: the JVM's optimising (C2) compiler costs more CPU than it saves there, and the suite is
# CPU-bound on two cores (measured: one DAG run with its Spark refresh, 102 s of CPU with C2, 67 s without).
# The deployed jobs keep the JVM's defaults.
# C1 alone sizes the JVM's code cache at 48 MB (240 MB with C2): the test session's one Spark JVM runs every Spark
# test of its worker and filled it ("Out of space in CodeCache", the JVM gone and every later test with it).
SHORT_JOB_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
# For the same reason the tests' jobs evaluate expressions interpreted: with code generation every new JVM compiles
# (Janino) each stage's generated Java source before it runs a few rows through it (measured: the season view's
# marts build, 37 s of CPU in a new JVM and 18 s in a warm one, 30 s and 13 s without). The results are the same
# (Spark's own tests run both paths); the deployed jobs and the benchmarks keep code generation.
SHORT_JOB_SPARK_CONF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
CLASS_ARCHIVE_JOB = ROOT / "tests" / "spark" / "class_archive_job.py"


def spark_class_archive(config: pytest.Config) -> Path | None:
    """Where the class-data-sharing archive of the classes a short Spark job loads is kept
    (tests/spark/class_archive_job.py; one per JDK, pyspark, job and settings version, under .local/). The test
    session's spark-submit JVMs map those classes instead of loading and verifying them (measured: a DAG test's
    refresh job 23.5 s -> 15.8 s, its JVM at its first Spark job after 3.4 s instead of 8.1 s). When it is missing
    tests/spark/class_archive.py makes it first (about a minute): made in the background while the tests started,
    a new machine's run was slower (pytest 14 min 38 s before, 16 min 12 s and 16 min 24 s after; a JVM named a
    missing archive maps none, not even the JDK's own). Without it (the JDK cannot make one) the jobs run as before.
    Only spark-submit's JVMs use it: the JVM must see the archive's class path, and the `spark` fixture's adds the
    counting file system's classes."""
    import hashlib

    import pyspark

    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr
    made_from = f"{java}{pyspark.__version__}{CLASS_ARCHIVE_JOB.read_text()}{SHORT_JOB_SPARK_CONF}"
    key = hashlib.sha256(made_from.encode()).hexdigest()[:16]
    archive = ROOT / ".local" / f"spark-classes-{key}.jsa"
    if not archive.exists():
        from tests.spark.class_archive import make

        conf = [f"{key}={value}" for key, value in SHORT_JOB_SPARK_CONF.items()]
        failed = make(archive, SHORT_JOB_JAVA_OPTIONS, conf)
        if failed:
            config.issue_config_time_warning(pytest.PytestWarning(failed), 2)
            return None
    return archive


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def admin_connect(services: Services):
    """An autocommit connection to the services' `postgres` database (to create and drop test databases)."""
    conn = psycopg2.connect(with_database(services.database_url, "postgres"))
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """PostgreSQL + Redis for this test session only, on free ports, stopped at the end."""
    state_dir = (os.environ.get("BFP_TEST_STATE_DIR") or str(ROOT / ".local" / "test-services")) + worker_suffix()
    # a previous session's services are stopped (they may be on other ports) and their data reused
    with running_services(Path(state_dir), "bfp_test", fresh=False) as started:
        yield started


@pytest.fixture(scope="session")
def migrated_template(services: Services) -> str:
    """A database with the OLTP schema applied, used as the template of every test database."""
    admin = admin_connect(services)
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        cur.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    apply_migrations(with_database(services.database_url, TEMPLATE_DB))
    admin.close()
    return TEMPLATE_DB


@contextlib.contextmanager
def database_from_template(services: Services, template: str) -> Iterator[str]:
    """A new database copied from `template` (fast: a file copy), dropped on exit; yields its URL."""
    name = f"bfp_test_{uuid.uuid4().hex[:12]}"
    admin = admin_connect(services)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        yield with_database(services.database_url, name)
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        admin.close()


@pytest.fixture
def database_url(services: Services, migrated_template: str) -> Iterator[str]:
    """URL of a fresh, migrated database of this test alone; dropped afterwards."""
    with database_from_template(services, migrated_template) as url:
        yield url


@pytest.fixture
def db(database_url: str):
    """A connection to the test's own database (explicit transactions)."""
    conn = psycopg2.connect(database_url)
    yield conn
    conn.close()


@pytest.fixture
def redis_client(services: Services) -> Iterator[redis.Redis]:
    """The session's cache Redis, both roles emptied before the test."""
    with redis.Redis.from_url(services.redis_url, socket_timeout=5) as state:
        state.flushdb()
    client = redis.Redis.from_url(services.cache_redis_url, socket_timeout=5)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's SQLite metadata database for the in-process DAG tests, migrated once, with the writers' pool."""
    home = Path(os.environ["AIRFLOW_HOME"])  # pytest_configure's
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.airflow_setup"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "dags")},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home


@pytest.fixture(scope="session")
def demo_purchases_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo-scale purchases file with the default seed, generated once per session."""
    path = tmp_path_factory.mktemp("purchases") / "amazon-purchases.csv"
    table = purchases.generate_purchases(purchases.SCALES["demo"], purchases.DEFAULT_SEED)
    return purchases.write_purchases_csv(table, path)


CATALOG_TEMPLATE = "bfp_test_catalog_template"
SMALL_SCALE = purchases.Scale("small", rows=3_000, products=400, customers=60)


@pytest.fixture(scope="session")
def catalog_template(services, migrated_template, tmp_path_factory) -> str:
    """A migrated database holding a small catalog (400 products, 60 shoppers), used as a template."""
    admin = admin_connect(services)
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {CATALOG_TEMPLATE}")
        cur.execute(f"CREATE DATABASE {CATALOG_TEMPLATE} TEMPLATE {migrated_template}")
    folder = tmp_path_factory.mktemp("small-catalog")
    csv_path = purchases.write_purchases_csv(purchases.generate_purchases(SMALL_SCALE, 3), folder / "p.csv")
    load_catalog(csv_path, with_database(services.database_url, CATALOG_TEMPLATE), folder / "quarantine")
    admin.close()
    return CATALOG_TEMPLATE


@pytest.fixture
def oltp_url(services, catalog_template):
    """A fresh database of this test with the schema and the small catalog, and no orders yet."""
    with database_from_template(services, catalog_template) as url:
        yield url


def headless_chromium(offline: bool = False):
    """Debian's chromium driven by its chromedriver through Selenium, headless, with the browser console log;
    `offline`: every request beyond loopback and files fails (a proxy where nothing listens)."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromedriver, chromium = shutil.which("chromedriver"), shutil.which("chromium")
    assert chromedriver and chromium, "chromium and chromium-driver missing: run `make venv` (scripts/bootstrap.sh)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,2600",
        "--disable-background-networking",
        *(["--proxy-server=127.0.0.1:9"] if offline else []),
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


# `make test-fast` leaves out what starts Spark, Airflow, a live server, a browser or a cluster: any test using
# one of these fixtures is marked slow here (a few tests that start such a thing themselves carry the mark).
SLOW_FIXTURES = {
    "spark", "airflow_db", "airflow", "cluster", "live_server", "browser",
    "headless_chromium", "scaled", "own", "stoppable_redis", "dashboard",
}  # fmt: skip


# Under `make test` each process takes whole modules in collection order (`--no-loadscope-reorder`: xdist would
# otherwise put the modules with the most tests first): the longest modules (measured: minutes each under two
# processes; the real scheduler's slows most under load) go first, so the run does not end waiting on one of them.
LONGEST_MODULES = (
    "test_real_scheduler.py", "test_dag_definitions.py", "test_order_state.py", "test_cluster.py",
    "test_marts.py", "test_season_view.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_MODULES.index(name) if name in LONGEST_MODULES else len(LONGEST_MODULES)

    items.sort(key=rank)  # stable: the order inside each module is kept
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
