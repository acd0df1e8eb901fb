"""bench/record.py: a benchmark's printed figures replace its own section of the benchmarks file, and only
when it succeeds."""

from __future__ import annotations

import subprocess
import sys

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


def record(doc, name: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.record", name, "--doc", str(doc), "--", *command],
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
