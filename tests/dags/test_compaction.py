"""Raw window compaction: due windows go into one file per table and month behind an index (the commit point),
a compaction that died is finished by the next one with the same result, a window extracted again replaces its
rows, young windows stay, and the gap report counts a compacted window as done."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from pipeline import audit, compaction, progress
from pipeline.extract.watermark import Window
from pipeline.lake import Lake
from tests.spark.raw_windows import line, order, ts, write_window

CUTOFF = ts(2026, 3, 10)


def compacted_rows(lake: Lake, table: str, month: str) -> list[tuple]:
    folder = lake.path(compaction.COMPACTED, table, f"month={month}")
    index = lake.read_json(f"{folder}/{compaction.INDEX}")
    rows = pq.read_table(f"{folder}/{index['file']}", filesystem=lake.fs).to_pylist()
    key = "id" if table == "orders" else "order_id"
    return sorted((row["window"], row[key]) for row in rows)


def fill(root, labels: dict[str, list[int]]) -> None:
    for label, ids in labels.items():
        moment = dt.datetime.strptime(label, "%Y%m%dT%H%M").replace(tzinfo=dt.UTC) - dt.timedelta(minutes=30)
        write_window(root, label, [order(i, moment, moment) for i in ids], [line(i, moment) for i in ids])


def test_due_windows_go_into_their_month_and_young_ones_stay(tmp_path):
    fill(tmp_path, {"20260228T2300": [1], "20260301T0100": [2, 3], "20260309T2300": [4], "20260310T0100": [5]})
    lake = Lake.from_uri(tmp_path.as_uri())

    record = compaction.compact(lake, CUTOFF, "run_1")

    assert record["windows"] == 3 and sorted(record["months"]) == ["2026-02", "2026-03"]
    assert compacted_rows(lake, "orders", "2026-03") == [
        ("20260301T0100", 2),
        ("20260301T0100", 3),
        ("20260309T2300", 4),
    ]
    assert compacted_rows(lake, "order_items", "2026-02") == [("20260228T2300", 1)]
    assert [p.name for p in (tmp_path / "raw" / "orders").iterdir()] == ["window=20260310T0100"]  # too young
    assert compaction.indexed_windows(lake, ["2026-03"]) == {"20260301T0100", "20260309T2300"}
    gaps = audit.gap_report(
        lake, [Window(ts(2026, 3, 1), ts(2026, 3, 1, 1)), Window(ts(2026, 3, 1, 1), ts(2026, 3, 1, 2))]
    )
    assert [g["window"] for g in gaps] == ["20260301T0200"]  # the compacted window is done, the other never ran


def test_a_compaction_that_died_is_finished_by_the_next_with_the_same_files(tmp_path):
    fill(tmp_path, {"20260301T0100": [1], "20260301T0200": [2]})
    lake = Lake.from_uri(tmp_path.as_uri())
    compaction.compact(lake, CUTOFF, "run_1")
    expected = compacted_rows(lake, "orders", "2026-03")
    folder = tmp_path / "raw" / "compacted" / "orders" / "month=2026-03"
    (folder / "part-unfinished.parquet").write_bytes(b"PAR1 half a file")  # died before its index was written
    fill(tmp_path, {"20260301T0100": [1]})  # died after the index, before deleting this window's folders

    again = compaction.compact(lake, CUTOFF, "run_2")

    assert again["windows"] == 1 and compacted_rows(lake, "orders", "2026-03") == expected
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [compaction.INDEX, lake.read_json(f"{folder}/{compaction.INDEX}")["file"]]
    )
    assert not (tmp_path / "raw" / "orders").exists() or not any((tmp_path / "raw" / "orders").iterdir())


def test_a_window_extracted_again_replaces_its_compacted_rows(tmp_path):
    fill(tmp_path, {"20260301T0100": [1, 2], "20260301T0200": [3]})
    lake = Lake.from_uri(tmp_path.as_uri())
    compaction.compact(lake, CUTOFF, "run_1")
    fill(tmp_path, {"20260301T0100": [1]})  # re-extracted: order 2 moved on to a later window since

    compaction.compact(lake, CUTOFF, "run_2")

    assert compacted_rows(lake, "orders", "2026-03") == [("20260301T0100", 1), ("20260301T0200", 3)]
    assert compacted_rows(lake, "order_items", "2026-03") == [("20260301T0100", 1), ("20260301T0200", 3)]


def test_a_window_still_pending_publication_stays_a_folder(tmp_path):
    fill(tmp_path, {"20260301T0100": [1], "20260301T0200": [2]})
    lake = Lake.from_uri(tmp_path.as_uri())
    held = Window(ts(2026, 3, 1, 1), ts(2026, 3, 1, 2))
    progress.window_extracted(lake, held, "run_held")  # extracted, never published (a quarantine held it)

    record = compaction.compact(lake, CUTOFF, "run_1")

    assert record["windows"] == 1 and compaction.indexed_windows(lake, ["2026-03"]) == {"20260301T0100"}
    assert (tmp_path / "raw" / "orders" / "window=20260301T0200" / "_manifest.json").exists()


def test_a_compaction_killed_while_deleting_leaves_no_manifest_beside_lost_data_and_the_next_cleans_up(
    tmp_path, monkeypatch
):
    fill(tmp_path, {"20260301T0100": [1, 2]})
    lake = Lake.from_uri(tmp_path.as_uri())
    deleted: list[str] = []
    original_delete_dir = Lake.delete_dir

    def killed_after_the_first_folder(self: Lake, folder: str) -> None:
        deleted.append(folder)
        original_delete_dir(self, folder)
        raise KeyboardInterrupt  # the process dies after one folder of the window is gone

    window = tmp_path / "raw"
    with monkeypatch.context() as patched:
        patched.setattr(Lake, "delete_dir", killed_after_the_first_folder)
        with pytest.raises(KeyboardInterrupt):
            compaction.compact(lake, CUTOFF, "run_1")

    assert len(deleted) == 1
    remaining = [p for p in window.glob("*/window=20260301T0100")]
    assert remaining and all(not (p / "_manifest.json").exists() for p in remaining)  # read as incomplete, not whole
    assert compaction.indexed_windows(lake, ["2026-03"]) == {"20260301T0100"}  # its rows are in the month's file

    again = compaction.compact(lake, CUTOFF, "run_2")

    assert again["leftovers_removed"] == ["20260301T0100"]
    assert not list(window.glob("*/window=20260301T0100"))
    assert compacted_rows(lake, "orders", "2026-03") == [("20260301T0100", 1), ("20260301T0100", 2)]
