"""Runs a benchmark and writes its printed figures into its own section of docs/benchmarks.md, so the figures
there are always the benchmark's own, never typed by hand (`make bench-…` runs every benchmark through this).

    python -m bench.record bench-serve -- .venv/bin/python -m bench.serve

The section is the text between `<!-- bench-serve: figures -->` and `<!-- /bench-serve -->`; it becomes a line
saying when, where and at which commit the run was made, and the benchmark's output. A benchmark that fails
leaves the file as it was and exits with its own code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}: figures -->", f"<!-- /{name} -->"


def section(name: str, output: str) -> str:
    """The section's new text: when, where, at which commit, and what the benchmark printed."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = f"{os.cpu_count()} cores, Python {platform.python_version()}, commit {commit.stdout.strip() or 'unknown'}"
    return f"Last run: {when}, {where} (`make {name}`, written by bench/record.py):\n\n```\n{output.rstrip()}\n```\n"


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
    parser.epilog = "then -- and the benchmark's command"
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("give the benchmark's command after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1 :]
    check_section(args.doc, args.name)  # before a long run, not after it
    captured = []
    env = {**os.environ, "COLUMNS": os.environ.get("COLUMNS", "160")}  # rich draws its tables this wide
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as run:
        for line in run.stdout:
            sys.stdout.write(line)
            captured.append(ANSI.sub("", line))
    if run.returncode != 0:
        print(
            f"{args.name} failed (exit {run.returncode}): its figures in {args.doc} were not changed", file=sys.stderr
        )
        return run.returncode
    replace_section(args.doc, args.name, section(args.name, "".join(captured)))
    print(f"figures written to {args.doc} ({args.name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
