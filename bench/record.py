"""Runs a benchmark and keeps what it found: its outcome (figures, goals, controls: bench/harness.py) with the
run's date, machine, commit and printed output as bench/results/<name>.json, and docs/benchmarks.md's section
rendered from that file, so the figures there are always the benchmark's own, never typed by hand or parsed back
(`make bench-…` runs every benchmark through this; the drills and `make dag-tasks` too, which keep no outcome).

    python -m bench.record bench-serve -- .venv/bin/python -m bench.serve

The section is the text between `<!-- bench-serve: figures -->` and `<!-- /bench-serve -->`; it becomes a line
saying when, where and at which commit the run was made, and the benchmark's output. A benchmark that fails (a
failed control, or a missed goal under --strict) leaves both files as they were and exits with its own code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import OUTCOME_SETTING

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "bench" / "results"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}: figures -->", f"<!-- /{name} -->"


def this_run() -> dict[str, str]:
    """When, on what and at which commit a run is made."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "commit": commit.stdout.strip() or "unknown",
    }


def section(name: str, recorded: dict[str, str], output: str) -> str:
    """The section's text: when, where, at which commit, and what the benchmark printed."""
    where = f"{recorded['when']}, {recorded['machine']}, commit {recorded['commit']}"
    return f"Last run: {where} (`make {name}`, written by bench/record.py):\n\n```\n{output.rstrip()}\n```\n"


def load_result(name: str) -> dict:
    """A benchmark's kept outcome; a clear error when it was never recorded."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path.relative_to(ROOT)} is missing: run make {name} first")
    return json.loads(path.read_text())


def section_of_result(result: dict) -> str:
    """docs/benchmarks.md's section of a kept outcome, rendered from it."""
    return section(result["benchmark"], result["recorded"], result["output"])


def check_section(doc: Path, name: str) -> str:
    """The file's text; exits with a clear error when the benchmark has no section in it."""
    text = doc.read_text()
    start, end = markers(name)
    if start not in text or end not in text:
        raise SystemExit(f"{doc}: no section for {name}: add the lines {start!r} and {end!r} where its figures go")
    return text


def replace_section(doc: Path, name: str, body: str) -> None:
    text = check_section(doc, name)
    start, end = markers(name)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{start}\n{body}{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.record", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the benchmark's make target, e.g. bench-serve (names its section)")
    parser.add_argument("--doc", type=Path, default=DOC, help="the file holding the sections (%(default)s)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where outcomes are kept (%(default)s)")
    parser.epilog = "then -- and the benchmark's command"
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("give the benchmark's command after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1 :]
    check_section(args.doc, args.name)  # before a long run, not after it
    captured = []
    with tempfile.TemporaryDirectory() as scratch:
        outcome_file = Path(scratch) / "outcome.json"
        env = {
            **os.environ,
            "COLUMNS": os.environ.get("COLUMNS", "160"),  # rich draws its tables this wide
            OUTCOME_SETTING: str(outcome_file),
        }
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as run:
            for line in run.stdout:
                sys.stdout.write(line)
                captured.append(ANSI.sub("", line))
        if run.returncode != 0:
            print(
                f"{args.name} failed (exit {run.returncode}): its figures in {args.doc} were not changed",
                file=sys.stderr,
            )
            return run.returncode
        outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else None
    recorded, output = this_run(), "".join(captured)
    if outcome is None:  # a drill or a generated list: the printed text is all there is
        replace_section(args.doc, args.name, section(args.name, recorded, output))
    else:
        result = {**outcome, "benchmark": args.name, "recorded": recorded, "output": output}
        kept = args.results / f"{args.name}.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        replace_section(args.doc, args.name, section_of_result(result))
        print(f"outcome kept in {kept}", file=sys.stderr)
    print(f"figures written to {args.doc} ({args.name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
