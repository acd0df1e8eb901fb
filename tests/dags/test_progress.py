"""Trust over weeks, without Spark: a scheduled run catches up from the lake's extracted mark (bounded, one
alert), quarantined windows hold later runs, the freshness and gap watch alerts once per incident, and the
reconciliation compares PostgreSQL with what analysts see, day by day."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import replace

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.simulate import backdate_orders
from pipeline import audit, freshness, progress, staging
from pipeline.extract import extract_step
from pipeline.extract.watermark import Window
from pipeline.gate import reconcile
from pipeline.gate.dq_gate_step import blamed_windows
from pipeline.publish import table_registry
from tests.dags.conftest import read_window

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
B = dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # a window boundary well in the past


def alerts_of(settings, kind: str) -> list[dict]:
    path = settings.alerts_path
    try:
        with open(path) as handle:
            return [alert for alert in map(json.loads, handle) if alert.get("incident") == kind]
    except FileNotFoundError:
        return []


# --- the schedule's grid and the catch-up ------------------------------------------------------------------


def test_grid_windows_tile_a_range_and_a_start_off_the_grid_gives_a_shorter_first_window():
    quarter = dt.timedelta(minutes=15)
    windows = progress.grid_windows(B + dt.timedelta(minutes=5), B + dt.timedelta(minutes=45), quarter)
    assert [(w.start.minute, w.end.minute) for w in windows] == [(5, 15), (15, 30), (30, 45)]
    assert progress.grid_floor(B + dt.timedelta(minutes=44), quarter) == B + dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    ("mark", "expected", "left"),
    [
        (None, ["20260115T1200"], 0),  # a new lake: the run's own interval
        (B, ["20260115T1200"], 0),  # up to date
        (B + HOUR, ["20260115T1200"], 0),  # a backfill or an old run cleared: its own interval
        (B - 3 * HOUR, ["20260115T1000", "20260115T1100", "20260115T1200"], 0),  # two intervals skipped
        (B - 6 * HOUR, ["20260115T0700", "20260115T0800", "20260115T0900"], 3),  # beyond the bound of 3
    ],
)
def test_a_scheduled_run_covers_from_the_extracted_mark_to_its_interval_end(mark, expected, left):
    windows, behind = extract_step.catch_up_windows(Window(B - HOUR, B), mark, HOUR, bound=3)
    assert [w.label for w in windows] == expected and behind == left
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))  # contiguous: no gap


def test_after_an_outage_the_next_scheduled_run_extracts_every_window_it_skipped(settings, simulator, lake, oltp_url):
    first = Window(B - 4 * HOUR, B - 3 * HOUR)
    extract_step.run_for_dag_run(settings, first.start, first.end, {"dry_run": False}, "scheduled_1")
    placed = simulator.place_orders(6)  # orders during the outage, two in each hour the scheduler skipped
    backdate_orders(oltp_url, {p.id: B - HOUR * (3 - i // 2) + dt.timedelta(minutes=10) for i, p in enumerate(placed)})

    summary = extract_step.run_for_dag_run(settings, B - HOUR, B, {"dry_run": False}, "scheduled_2")

    assert summary["windows"] == ["20260115T1000", "20260115T1100", "20260115T1200"]
    found = sorted(row["id"] for label in summary["windows"] for row in read_window(lake, "orders", label))
    assert found == sorted(p.id for p in placed)  # 0 orders missing, no one had to backfill
    assert progress.extracted_mark(lake) == B
    assert progress.pending_labels(lake) == ["20260115T0900", "20260115T1000", "20260115T1100", "20260115T1200"]
    assert alerts_of(settings, "extract_behind") == []


def test_further_behind_than_the_bound_takes_the_oldest_windows_alerts_once_and_the_next_run_goes_on(settings, lake):
    bounded = replace(settings, catch_up_windows=2)
    extract_step.run_for_dag_run(bounded, B - 6 * HOUR, B - 5 * HOUR, {"dry_run": False}, "r1")

    second = extract_step.run_for_dag_run(bounded, B - HOUR, B, {"dry_run": False}, "r2")
    third = extract_step.run_for_dag_run(bounded, B - HOUR, B, {"dry_run": False}, "r3")
    fourth = extract_step.run_for_dag_run(bounded, B - HOUR, B, {"dry_run": False}, "r4")

    assert (second["windows"], second["windows_left"]) == (["20260115T0800", "20260115T0900"], 3)
    assert (third["windows"], third["windows_left"]) == (["20260115T1000", "20260115T1100"], 1)
    assert (fourth["windows"], fourth["windows_left"]) == (["20260115T1200"], 0)
    behind = alerts_of(settings, "extract_behind")
    assert len(behind) == 1 and "5 windows behind" in behind[0]["error"]  # one alert for the whole backlog
    assert not lake.exists(lake.path("_progress", "incidents", "extract_behind.json"))  # caught up: closed


# --- quarantine ----------------------------------------------------------------------------------------------


def test_a_quarantined_window_holds_later_runs_and_its_own_re_run_goes_ahead(lake):
    progress.quarantine(lake, ["20260115T1200"], "scheduled_7", "raw_orders: expect_column_values_to_be_between")

    with pytest.raises(progress.WindowQuarantinedError) as held:
        progress.hold_if_quarantined(lake, ["20260115T1300"])
    assert "20260115T1200" in str(held.value) and progress.RUNBOOK_QUARANTINE in str(held.value)
    assert "clear run scheduled_7" in str(held.value)
    progress.hold_if_quarantined(lake, ["20260115T1200"])  # the repair: the quarantined window's own run

    progress.windows_published(lake, ["20260115T1200", "20260115T1300"], "scheduled_7")
    assert progress.quarantined(lake) == [] and progress.published_mark(lake) == B + HOUR
    progress.hold_if_quarantined(lake, ["20260115T1400"])  # lifted


def test_a_failed_gate_blames_the_windows_a_raw_check_names_else_the_runs_own():
    failed = ["raw/orders/window=20260115T1100", "curated/order_lines year=2026/month=1"]
    assert blamed_windows(failed, ["20260115T1200"]) == ["20260115T1100"]
    assert blamed_windows(["curated/order_lines year=2026/month=1"], ["20260115T1200"]) == ["20260115T1200"]


# --- freshness and gaps -------------------------------------------------------------------------------------


def test_a_stale_lake_alerts_once_per_incident_and_a_publication_closes_it(settings, lake):
    progress.windows_published(lake, ["20260115T1200"], "r1")
    now = B + 3 * HOUR + dt.timedelta(minutes=1)  # threshold: 2 windows (2 h) + no lag

    first, second = freshness.watch(settings, "r2", now), freshness.watch(settings, "r3", now)
    assert first["stale"] and second["stale"]
    stale = alerts_of(settings, "stale_lake")
    assert len(stale) == 1 and "2026-01-15T12:00:00+00:00" in stale[0]["error"]
    assert "pipeline.audit runs" in stale[0]["next_step"]

    progress.windows_published(lake, ["20260115T1500"], "r4")
    assert not freshness.watch(settings, "r4", now)["stale"]
    freshness.watch(settings, "r5", now + 3 * HOUR)
    assert len(alerts_of(settings, "stale_lake")) == 2  # a new incident: alerts anew


def test_while_a_window_is_quarantined_the_stale_lake_raises_no_second_page(settings, lake):
    progress.windows_published(lake, ["20260115T1200"], "r1")
    progress.quarantine(lake, ["20260115T1300"], "r2", "raw_orders failed")
    assert freshness.watch(settings, "r3", B + 5 * HOUR)["stale"]
    assert alerts_of(settings, "stale_lake") == []  # each held run alerts, naming the window


def test_a_missing_window_of_the_last_day_alerts_with_the_command_that_fixes_it(settings, lake):
    extract_step.run_for_dag_run(settings, B - 3 * HOUR, B - 2 * HOUR, {"dry_run": False}, "r1")
    extract_step.run_for_dag_run(settings, B - HOUR, B, {"dry_run": False}, "r2")  # catches up: no gap
    assert freshness.watch(settings, "r3", B)["gaps"] == []
    lost = lake.path("raw", "orders", "window=20260115T1100", "_manifest.json")
    lake.fs.delete_file(lost)  # a window lost after the fact

    watched = freshness.watch(settings, "r4", B)

    assert watched["gaps"] == ["20260115T1100"]
    (gap_alert,) = alerts_of(settings, "gaps")
    assert "airflow dags trigger orders_pipeline" in gap_alert["next_step"]
    assert '"window_start": "2026-01-15T10:00:00+00:00"' in gap_alert["next_step"]


def test_the_gap_report_reads_the_schedules_window_length(settings, lake, monkeypatch, capsys):
    quarter = replace(settings, window_length=dt.timedelta(minutes=15))
    extract_step.run_for_dag_run(quarter, B - dt.timedelta(minutes=30), B - dt.timedelta(minutes=15), {}, "r1")
    monkeypatch.setenv("BFP_WINDOW_MINUTES", "15")
    code = audit.main(["--lake", settings.lake_uri, "gaps", "--from", "2026-01-15T11:30Z", "--to", "2026-01-15T12:00Z"])
    assert code == 1 and "20260115T1200" in capsys.readouterr().out  # 15-minute windows, not hours


# --- reconciliation --------------------------------------------------------------------------------------------


def created_on(database_url: str, stamps: dict[int, dt.datetime]) -> None:
    """Orders created (and last changed) at the given moments: days the lake has long published."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE orders DISABLE TRIGGER orders_set_updated_at")
        for order_id, stamp in stamps.items():
            cur.execute("UPDATE orders SET created_at = %s, updated_at = %s WHERE id = %s", (stamp, stamp, order_id))
        cur.execute("ALTER TABLE orders ENABLE TRIGGER orders_set_updated_at")
    conn.close()


def publish_curated_from(lake, settings, database_url: str, leave_out: set[int] = frozenset()) -> None:
    """A registered curated partition holding what PostgreSQL holds (computed here, independently of Spark),
    without the orders in `leave_out`."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT 'o-' || o.id, (o.created_at AT TIME ZONE 'UTC')::date, i.line_total, o.status "
            "FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.deleted_at IS NULL AND NOT o.id = ANY(%s)",
            (list(leave_out),),
        )
        rows = cur.fetchall()
    conn.close()
    lines = pa.table(
        {
            "order_id": [r[0] for r in rows],
            "order_date": pa.array([r[1] for r in rows], pa.date32()),
            "revenue": pa.array([r[2] if r[3] != "cancelled" else 0 for r in rows], pa.decimal128(14, 2)),
            "status": [r[3] for r in rows],
            "source": ["oltp"] * len(rows),
        }
    )
    table = table_registry.table_def(table_registry.load_table_defs(settings.athena_ddl_dir), reconcile.CURATED)
    spec, stamp = "year=2026/month=1/bucket=0", staging.new_stamp("test")
    folder = lake.path(table.lake_path, staging.VERSIONS, stamp, spec)
    lake.fs.create_dir(folder, recursive=True)
    pq.write_table(lines, f"{folder}/part-0.parquet", filesystem=lake.fs)
    staging.record_registered(lake, table, spec, stamp, lake.uri_of(folder))


def test_the_reconciliation_alerts_naming_a_day_the_lake_lost_and_stays_quiet_on_a_clean_day(
    settings, simulator, lake, oltp_url
):
    placed = simulator.place_orders(8)
    days = [B - dt.timedelta(days=1) + dt.timedelta(hours=1), B + dt.timedelta(hours=1)]
    created_on(oltp_url, {p.id: days[i % 2] for i, p in enumerate(placed)})
    progress.windows_published(lake, ["20260116T0000"], "r0")  # every window to the 16th is published
    lost = placed[1].id  # on the 15th
    publish_curated_from(lake, settings, oltp_url, leave_out={lost})

    record = reconcile.reconcile(settings, "r1", [d.date() for d in days])

    assert record["mismatched_days"] == ["2026-01-15"]
    (alert,) = [a for a in alerts_of(settings, "reconcile_2026-01-15")]
    assert "missing 1 orders" in alert["error"]
    assert alerts_of(settings, "reconcile_2026-01-14") == []  # the clean day: no false alarm
    assert audit.main(["--lake", settings.lake_uri, "reconciliations"]) == 1

    publish_curated_from(lake, settings, oltp_url)  # repaired
    assert reconcile.reconcile(settings, "r2", [d.date() for d in days])["mismatched_days"] == []
    assert not lake.exists(lake.path("_progress", "incidents", "reconcile_2026-01-15.json"))


def test_orders_changed_after_the_published_mark_are_left_out_on_both_sides(settings, simulator, lake, oltp_url):
    placed = simulator.place_orders(4)
    created_on(oltp_url, {p.id: B + dt.timedelta(hours=1) for p in placed})
    progress.windows_published(lake, ["20260116T0000"], "r0")
    publish_curated_from(lake, settings, oltp_url)
    simulator.advance([placed[0].id], cancel_share=1.0)  # changed now: its new version is not in the lake yet

    assert reconcile.reconcile(settings, "r1", [(B + HOUR).date()])["mismatched_days"] == []


def test_only_runs_on_the_schedule_watch_freshness():
    assert freshness.not_watched({"window_start": "2026-01-15T11:00Z"}, "manual", B) is not None
    assert freshness.not_watched({}, "backfill", B) is not None
    assert freshness.not_watched({}, "manual", None) is not None  # a trigger without a data interval
    assert freshness.not_watched({"dry_run": False}, "scheduled", B) is None
