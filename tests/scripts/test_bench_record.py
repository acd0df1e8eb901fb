"""bench/record.py: a benchmark's printed figures replace its own section of the benchmarks file, and only
when it succeeds; a benchmark's outcome (bench/harness.py) is kept as data and its section rendered from it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

DOC = """# Benchmarks

How bench-a works.

<!-- bench-a: figures -->
old figures of a
<!-- /bench-a -->

<!-- bench-b: figures -->
figures of b
<!-- /bench-b -->
"""


def record(doc, name: str, *command: str, results=None) -> subprocess.CompletedProcess:
    kept = ["--results", str(results)] if results else []
    return subprocess.run(
        [sys.executable, "-m", "bench.record", name, "--doc", str(doc), *kept, "--", *command],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_successful_run_replaces_only_its_own_section_with_what_it_printed(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    done = record(doc, "bench-a", sys.executable, "-c", "print('users  req/s'); print('  250  1,234')")

    assert done.returncode == 0, done.stderr
    assert "users  req/s" in done.stdout  # the run still prints as it goes
    text = doc.read_text()
    assert "old figures of a" not in text and "  250  1,234" in text and "Last run: " in text
    assert "<!-- bench-b: figures -->\nfigures of b\n<!-- /bench-b -->" in text
    assert text.startswith("# Benchmarks\n\nHow bench-a works.\n\n<!-- bench-a: figures -->\nLast run: ")


def test_a_failed_run_leaves_the_file_unchanged_and_exits_with_its_code(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    done = record(doc, "bench-a", sys.executable, "-c", "print('half'); raise SystemExit(3)")

    assert done.returncode == 3
    assert doc.read_text() == DOC
    assert "were not changed" in done.stderr


def test_a_benchmark_without_a_section_is_refused_before_it_runs(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)
    marker = tmp_path / "ran"

    done = record(doc, "bench-c", sys.executable, "-c", f"open({str(marker)!r}, 'w')")

    assert done.returncode != 0 and "no section for bench-c" in done.stderr
    assert not marker.exists() and doc.read_text() == DOC


def test_every_make_bench_target_records_into_a_section_of_the_benchmarks_file():
    makefile = (ROOT / "Makefile").read_text()
    doc = (ROOT / "docs" / "benchmarks.md").read_text()
    targets = [line.split(":")[0] for line in makefile.splitlines() if line.startswith("bench-")]
    assert targets
    for target in targets:
        assert f"-m bench.record {target} --" in makefile, target
        assert f"<!-- {target}: figures -->" in doc and f"<!-- /{target} -->" in doc, target


OUTCOME = """
from bench.harness import Outcome
run = Outcome("bench-a")
run.figure("orders_per_s", 1234.5678)
run.goal("orders/s against the floor", 0.42, ">=", 0.5)
run.control({held}, "no product oversold")
raise SystemExit(run.finish(strict={strict}))
"""


def test_an_outcome_is_kept_as_data_and_the_section_is_rendered_from_it(tmp_path):
    import json

    from bench.record import markers, section_of_result

    doc, results = tmp_path / "benchmarks.md", tmp_path / "results"
    doc.write_text(DOC)

    done = record(doc, "bench-a", sys.executable, "-c", OUTCOME.format(held=True, strict=False), results=results)

    assert done.returncode == 0, done.stderr  # a missed goal is printed and recorded, not a failed run
    kept = json.loads((results / "bench-a.json").read_text())
    assert kept["figures"] == {"orders_per_s": 1234.5678}  # full precision, whatever was printed
    assert kept["goals"] == [
        {"name": "orders/s against the floor", "value": 0.42, "compare": ">=", "target": 0.5, "met": False}
    ]
    assert kept["controls"] == {"no product oversold": True}
    assert "goal MISSED orders/s against the floor: 0.42 (goal >= 0.5)" in kept["output"]
    start, end = markers("bench-a")
    assert doc.read_text().split(start, 1)[1].split(end, 1)[0] == "\n" + section_of_result(kept)


@pytest.mark.parametrize(("held", "strict"), [(False, False), (True, True)])
def test_a_failed_control_or_a_missed_goal_under_strict_fails_the_run_and_keeps_nothing(tmp_path, held, strict):
    doc, results = tmp_path / "benchmarks.md", tmp_path / "results"
    doc.write_text(DOC)

    done = record(doc, "bench-a", sys.executable, "-c", OUTCOME.format(held=held, strict=strict), results=results)

    assert done.returncode == 1
    assert doc.read_text() == DOC and not results.exists()


def test_the_kept_outcomes_are_what_docs_benchmarks_md_shows():
    import json

    from bench.record import DOC as BENCHMARKS
    from bench.record import RESULTS, markers, section_of_result

    text = BENCHMARKS.read_text()
    kept = sorted(RESULTS.glob("*.json"))
    assert {path.stem for path in kept} >= {"bench-serve", "bench-transform", "bench-hourly", "bench-query"}
    for path in kept:
        result = json.loads(path.read_text())
        start, end = markers(result["benchmark"])
        shown = text.split(start, 1)[1].split(end, 1)[0]
        assert shown == "\n" + section_of_result(result), f"docs/benchmarks.md's section is not {path.name}'s"
