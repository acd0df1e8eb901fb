"""The hourly merge through the orders' state: the curated rows equal the newest version of every order whatever
the order windows are merged in, again or not, before or after their older windows were compacted, and equal a
rebuild from every raw version; an hourly run's file system calls do not grow with the windows in the lake."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs import build_marts, build_order_lines, lake_io, refresh
from pipeline import compaction
from pipeline.lake import Lake
from support import hadoop_fs_calls
from tests.spark.raw_windows import line, order, ts, write_window
from transforms import order_lines

BASE = ts(2026, 1, 31, 20)  # versions fall around a month end: an update may move an order's month
ORDER_IDS = (1, 2, 3, order_lines.ORDERS_PER_BUCKET + 1)  # two buckets


def label_of(moment: dt.datetime) -> str:
    """The hourly window [h, h+1) holding `moment`: its label is its end."""
    return (moment.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)).strftime("%Y%m%dT%H%M")


# One version: (order id, hours after BASE it was written, day offset of its order date, deleted, quantity)
version_strategy = st.tuples(
    st.sampled_from(ORDER_IDS), st.integers(0, 5), st.integers(-1, 1), st.booleans(), st.integers(1, 3)
)


def windows_of(versions: list[tuple]) -> dict[str, tuple[list[dict], list[dict]]]:
    """label -> (orders, lines) of the raw windows the versions were extracted in (one version per order and
    moment: a later duplicate of the same moment is dropped, as a database row has one value at a time)."""
    seen, windows = set(), {}
    for order_id, hour, day, deleted, quantity in versions:
        if (order_id, hour) in seen:
            continue
        seen.add((order_id, hour))
        updated = BASE + dt.timedelta(hours=hour, minutes=order_id % 50)
        created = BASE + dt.timedelta(days=day)
        orders, lines = windows.setdefault(label_of(updated), ([], []))
        orders.append(order(order_id, created, updated, deleted=updated if deleted else None))
        lines.append(line(order_id, updated, quantity=quantity))
        lines.append(line(order_id, updated, line_no=2, price="1.50"))
    return windows


def expected_lines(windows: dict) -> list[tuple]:
    """The newest version of every order that is not deleted, as (order id, line, month, revenue, window)."""
    newest = {}
    for label, (orders, lines) in windows.items():
        for row in orders:
            if row["id"] not in newest or row["updated_at"] > newest[row["id"]][0]["updated_at"]:
                newest[row["id"]] = (row, [item for item in lines if item["order_id"] == row["id"]], label)
    return sorted(
        (f"o-{row['id']}", item["line_no"], row["created_at"].month, item["line_total"], label)
        for row, items, label in newest.values()
        if row["deleted_at"] is None
        for item in items
    )


def curated_lines(spark, lake: Path) -> list[tuple]:
    rows = lake_io.read_current_table(spark, (lake / "curated" / "order_lines").as_uri()).collect()
    return sorted((r.order_id, r.line_no, r.month, r.revenue, r.source_ref) for r in rows)


def current_rows(spark, lake: Path, table: str) -> list[str]:
    return sorted(map(repr, lake_io.read_current_table(spark, f"{lake.as_uri()}/{table}").collect()))


def merge(spark, lake: Path, *labels: str) -> dict:
    return build_order_lines.build(spark, lake.as_uri(), windows=list(labels))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=st.lists(version_strategy, min_size=2, max_size=6), data=st.data())
def test_any_window_order_repeats_compaction_and_late_updates_give_the_newest_versions(
    spark, tmp_path_factory, versions, data
):
    lake = tmp_path_factory.mktemp("lake")
    windows = windows_of(versions)
    for label, (orders, lines) in windows.items():
        write_window(lake, label, orders, lines)
    labels = sorted(windows)
    order = data.draw(st.permutations(labels), label="merge order")
    repeats = data.draw(st.lists(st.sampled_from(labels), max_size=2), label="merged again")
    compact_after = data.draw(st.integers(1, len(order)), label="compact after this many merges")
    for number, label in enumerate([*order, *repeats], start=1):
        if (lake / "raw" / "orders" / f"window={label}").exists():
            merge(spark, lake, label)
        if number == compact_after:  # the merged windows go into their month's file; later ones are late updates
            compaction.compact(Lake.from_uri(lake.as_uri()), dt.datetime(2100, 1, 1, tzinfo=dt.UTC), "c1")
            assert not any((lake / "raw" / "orders").glob("window=*"))
            for label_left in order[number:]:  # the windows still to come arrive after the compaction
                write_window(lake, label_left, *windows[label_left])
    expected = expected_lines(windows)
    assert curated_lines(spark, lake) == expected

    rebuilt = tmp_path_factory.mktemp("rebuilt")  # every raw version, compacted months and folders alike
    shutil.copytree(lake / "raw", rebuilt / "raw")
    build_order_lines.build(spark, rebuilt.as_uri(), all_windows=True)
    assert curated_lines(spark, rebuilt) == expected


def test_a_delete_removes_the_order_and_an_older_window_merged_again_cannot_bring_it_back(spark, tmp_path):
    v1, v2 = ts(2026, 5, 1, 8, 10), ts(2026, 5, 1, 9, 10)
    write_window(tmp_path, "20260501T0900", [order(7, v1, v1)], [line(7, v1)])
    write_window(tmp_path, "20260501T1000", [order(7, v1, v2, deleted=v2)], [line(7, v2)])
    merge(spark, tmp_path, "20260501T0900")
    assert [r[0] for r in curated_lines(spark, tmp_path)] == ["o-7"]
    summary = merge(spark, tmp_path, "20260501T1000")
    assert summary["partitions_removed"] == ["year=2026/month=5/bucket=0"] and curated_lines(spark, tmp_path) == []
    again = merge(spark, tmp_path, "20260501T0900")  # the tombstone in the state wins
    assert again["orders_changed"] == 0 and again["partitions"] == [] and curated_lines(spark, tmp_path) == []


def test_compaction_racing_an_hourly_run_loses_and_doubles_nothing(spark, tmp_path):
    day = ts(2026, 6, 1)
    old = [label_of(day + dt.timedelta(hours=h)) for h in range(6)]
    for hour, label in enumerate(old):
        moment = day + dt.timedelta(hours=hour, minutes=5)
        write_window(tmp_path, label, [order(hour + 1, moment, moment)], [line(hour + 1, moment)])
    merge(spark, tmp_path, *old)
    late = day + dt.timedelta(days=3, minutes=5)  # a late update of order 1 and a new order, days later
    write_window(
        tmp_path, label_of(late), [order(1, day, late, "shipped"), order(9, late, late)], [line(1, late), line(9, late)]
    )
    lake = Lake.from_uri(tmp_path.as_uri())
    compacting = threading.Thread(target=compaction.compact, args=(lake, day + dt.timedelta(days=2), "c1"))
    compacting.start()
    merge(spark, tmp_path, label_of(late))
    compacting.join()
    assert sorted(r[0] for r in curated_lines(spark, tmp_path)) == ["o-1", "o-2", "o-3", "o-4", "o-5", "o-6", "o-9"]
    assert [p.name for p in (tmp_path / "raw" / "orders").iterdir()] == [f"window={label_of(late)}"]
    index = compaction.indexed_windows(lake, ["2026-06"])
    assert index == set(old)
    # idempotent: nothing due any more changes nothing
    again = compaction.compact(lake, day + dt.timedelta(days=2), "c2")
    assert again["windows"] == 0 and compaction.indexed_windows(lake, ["2026-06"]) == index


def relabelled_history(lake: Path, label: str, windows: int) -> None:
    """`windows` earlier hourly windows, each a copy of `label`'s folders under another label (the same order
    versions, as a lake copied and given past windows would have them), manifests included."""
    end = dt.datetime.strptime(label, "%Y%m%dT%H%M")
    for back in range(1, windows + 1):
        past = (end - dt.timedelta(hours=back)).strftime("%Y%m%dT%H%M")
        for table in ("order_items", "orders"):
            shutil.copytree(lake / "raw" / table / f"window={label}", lake / "raw" / table / f"window={past}")


def test_an_hourly_runs_file_system_calls_do_not_grow_with_past_windows(spark, tmp_path):
    first, now = ts(2026, 3, 1, 9, 30), ts(2026, 3, 1, 10, 30)
    calls = {}
    for past in (0, 200):
        lake = tmp_path / f"history-{past}"
        write_window(
            lake, label_of(first), [order(i, first, first) for i in (1, 2, 3)], [line(i, first) for i in (1, 2, 3)]
        )
        merge(spark, lake, label_of(first))
        relabelled_history(lake, label_of(first), past)
        write_window(
            lake, label_of(now), [order(1, first, now, "shipped"), order(4, now, now)], [line(1, now), line(4, now)]
        )
        summary_uri = (tmp_path / f"summary-{past}.json").as_uri()
        args = [
            "--lake",
            lake.as_uri(),
            "--summary-uri",
            summary_uri,
            "--windows",
            label_of(now),
            "--as-of",
            "2026-03-02",
        ]
        hadoop_fs_calls.reset(spark)
        summary = refresh.run(spark, refresh.parse_args(args))  # what orders_pipeline submits
        calls[past] = hadoop_fs_calls.calls(spark)
        assert summary["order_lines"]["orders_changed"] == 2
        assert curated_lines(spark, lake)[0] == ("o-1", 1, 3, Decimal("10.00"), label_of(now))
    assert calls[0] == calls[200], f"calls grew with 200 past windows: {calls}"
    assert calls[0]["list"] < 50 and calls[0]["open"] < 100 and calls[0]["listed_entries"] < 200


def test_the_gate_finds_each_window_order_where_the_state_says_it_is(spark, tmp_path):
    from pipeline.gate import quality
    from tests.conftest import ROOT

    v1, v2 = ts(2026, 7, 1, 8, 10), ts(2026, 7, 1, 9, 10)
    write_window(tmp_path, "20260701T0900", [order(1, v1, v1), order(2, v1, v1)], [line(1, v1), line(2, v1)])
    write_window(tmp_path, "20260701T1000", [order(2, v1, v2, deleted=v2)], [line(2, v2)])
    merge(spark, tmp_path, "20260701T0900")
    summary = merge(spark, tmp_path, "20260701T1000")
    lake = Lake.from_uri(tmp_path.as_uri())

    def reconciled(label: str, refresh: dict) -> dict:
        (check,) = [
            c for c in quality.checks_for_run(lake, [label], {"order_lines": refresh}) if "reconcile" in c.suite
        ]
        return quality.validate([check], ROOT / "expectations")[0]

    assert reconciled("20260701T1000", summary)["success"]  # the deleted order is rightly absent
    again = merge(spark, tmp_path, "20260701T0900")  # a re-run writes nothing; its orders are still found
    assert again["partitions"] == [] and reconciled("20260701T0900", again)["success"]
    month = tmp_path / "curated" / "order_lines" / "year=2026" / "month=7"
    shutil.rmtree(month)  # order 1 lost from curated: the state says it is live
    outcome = reconciled("20260701T0900", again)
    assert not outcome["success"] and outcome["failed"][0]["kwargs"]["column"] == "agrees"


def test_a_run_rewrites_the_buckets_its_orders_are_in_not_their_month(spark, tmp_path):
    moment = ts(2026, 8, 3, 9, 10)
    big, small = order_lines.ORDERS_PER_BUCKET, 1  # two buckets of the same month
    older = [order(big + i, moment, moment) for i in range(30)] + [order(small, moment, moment)]
    write_window(tmp_path, "20260803T1000", older, [line(o["id"], moment) for o in older])
    merge(spark, tmp_path, "20260803T1000")
    curated = tmp_path / "curated" / "order_lines" / "year=2026" / "month=8"
    before = {p.parent.name: p.read_text() for p in curated.glob(f"bucket=*/{lake_io.CURRENT}")}
    late = ts(2026, 8, 3, 10, 20)
    write_window(tmp_path, "20260803T1100", [order(small, moment, late, "shipped")], [line(small, late)])

    summary = merge(spark, tmp_path, "20260803T1100")

    assert summary["partitions"] == ["year=2026/month=8/bucket=0"] and summary["rows_out"] == 1  # not 31
    after = {p.parent.name: p.read_text() for p in curated.glob(f"bucket=*/{lake_io.CURRENT}")}
    assert after["bucket=1"] == before["bucket=1"]  # the other bucket of the month: untouched
    assert after["bucket=0"] != before["bucket=0"]


def test_a_refresh_killed_while_switching_is_finished_by_its_re_run_with_a_rebuilds_rows(spark, tmp_path, monkeypatch):
    first, late = ts(2026, 9, 1, 9, 10), ts(2026, 9, 1, 10, 20)
    other_bucket = [order_lines.ORDERS_PER_BUCKET + i for i in range(4)]  # most of the month: its marts are revised
    write_window(tmp_path, "20260901T1000", [order(i, first, first) for i in (1, 2, *other_bucket)],
                 [line(i, first) for i in (1, 2, *other_bucket)])  # fmt: skip
    args = ["--lake", tmp_path.as_uri(), "--as-of", "2026-09-02", "--summary-uri", (tmp_path / "summary.json").as_uri()]
    refresh.run(spark, refresh.parse_args([*args, "--windows", "20260901T1000"]))
    write_window(tmp_path, "20260901T1100", [order(1, first, late, "shipped"), order(3, late, late)],
                 [line(1, late, quantity=3), line(3, late)])  # fmt: skip
    args += ["--windows", "20260901T1100"]
    switched = []
    real_switch = lake_io.VersionedTable.switch

    def killed_before_the_state(self):  # the job dies once curated and the marts are switched, before the state
        if self.uri.endswith("state/orders"):
            raise KeyboardInterrupt
        real_switch(self)
        switched.append(self.uri.rsplit("/", 2)[-2:])

    with monkeypatch.context() as patched:
        patched.setattr(lake_io.VersionedTable, "switch", killed_before_the_state)
        with pytest.raises(KeyboardInterrupt):
            refresh.run(spark, refresh.parse_args(args))
    assert ["curated", "order_lines"] in switched

    retry = refresh.run(spark, refresh.parse_args(args))
    assert retry["status"] == "success" and retry["marts"]["months_revised"] == ["2026-09"]

    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(tmp_path / "raw", rebuilt / "raw")
    build_order_lines.build(spark, rebuilt.as_uri(), all_windows=True)
    assert curated_lines(spark, tmp_path) == curated_lines(spark, rebuilt)
    build_marts.build(spark, rebuilt.as_uri(), None, dt.date(2026, 9, 2))
    for table in ("marts/daily_sales", "marts/olap_cube", "state/customer_cells", "state/day_customers"):
        assert current_rows(spark, tmp_path, table) == current_rows(spark, rebuilt, table)
    assert [r[3] for r in curated_lines(spark, tmp_path) if r[0] == "o-1"] == [Decimal("30.00")]
