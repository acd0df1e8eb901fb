"""Run audit of the orders extract, kept in the lake beside the data it describes.

Every attempt writes _audit/orders_extract/window=<label>/<run_id>.json (success, deferred or failed, with
rows and duration). A window is done when its orders manifest exists or a compaction index lists it (its folder
was compacted into its month: pipeline.compaction); the gap report lists the windows a
schedule expects between two times that are not done, with their last attempt.

    python -m pipeline.audit runs [--last N]
    python -m pipeline.audit gaps --from 2026-11-20T00:00Z --to 2026-11-24T00:00Z [--every-minutes 60]
    python -m pipeline.audit run <run_id>     one run's whole story from the lake
    python -m pipeline.audit status           extracted / published through, pending and quarantined windows
    python -m pipeline.audit reconciliations [--last N]    PostgreSQL against the lake, per day

Every record a run leaves carries its run id, Airflow's, in its file-safe form (pipeline.run_ids.file_safe): the
extract attempts (_audit/), the Spark summary (_runs/refresh/), each DQ attempt (_dq/<suite>/<run>/),
registration and publication (_runs/register/, _runs/publish/), alerts (_alerts/<run>/), and the housekeeping
run's compaction (_runs/compact/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from pipeline import compaction, progress
from pipeline import settings as settings_module
from pipeline.extract.watermark import Window
from pipeline.lake import Lake
from pipeline.run_ids import file_safe

AUDIT_FOLDER = ("_audit", "orders_extract")


def record_attempt(lake: Lake, window: Window, run_id: str, attempt: int, status: str, details: dict) -> str:
    """Writes one attempt's outcome (window=<label>/<run>.<attempt>.json: a retry never overwrites); returns
    its path."""
    path = lake.path(*AUDIT_FOLDER, f"window={window.label}", f"{run_id}.{attempt}.json")
    lake.write_json(
        path,
        {
            "window": window.as_dict(),
            "run_id": run_id,
            "attempt": attempt,
            "status": status,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
            **details,
        },
    )
    return path


def record_run(settings: settings_module.Settings, kind: str, run_id: str | None, record: dict) -> dict:
    """Keeps a step's record in the lake beside the run's others (_runs/<kind>/<run>.json; `python -m
    pipeline.audit run <run>` reads them all); returns the record."""
    if run_id:
        lake = Lake.from_uri(settings.lake_uri)
        lake.write_json(lake.path("_runs", kind, f"{run_id}.json"), record)
    return record


def attempts(lake: Lake) -> list[dict]:
    """Every recorded attempt, oldest first."""
    found = []
    base = lake.path(*AUDIT_FOLDER)
    for folder in lake.list_dirs(base):
        for info in lake.list_files(f"{base}/{folder}"):
            record = lake.read_json(info.path)
            if record:
                found.append(record)
    return sorted(found, key=lambda r: r["recorded_at"])


def expected_windows(first_start: dt.datetime, last_end: dt.datetime, every: dt.timedelta) -> list[Window]:
    """Consecutive windows of `every` from first_start until last_end (each starts at the previous end)."""
    windows, start = [], first_start
    while start + every <= last_end:
        windows.append(Window(start, start + every))
        start += every
    return windows


def gap_report(lake: Lake, windows: list[Window]) -> list[dict]:
    """For each expected window that is not done: its label and last attempt's status and error. One `exists` per
    window (and one listing per gap's audit folder): what it costs follows the range asked, not the lake's age."""
    compacted = compaction.indexed_windows(lake, sorted({compaction.month_of(w.label) for w in windows}))
    gaps = []
    for window in windows:
        if window.label in compacted or lake.manifest(lake.path("raw", "orders", f"window={window.label}")):
            continue
        attempt = last_attempt(lake, window.label)
        gaps.append(
            {
                "window": window.label,
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "last_status": attempt["status"] if attempt else "never attempted",
                "last_error": (attempt or {}).get("error", ""),
            }
        )
    return gaps


def last_attempt(lake: Lake, label: str) -> dict | None:
    """The newest recorded extract attempt of one window."""
    folder = lake.path(*AUDIT_FOLDER, f"window={label}")
    records = [lake.read_json(info.path) for info in lake.list_files(folder)]
    return max((r for r in records if r), key=lambda r: r["recorded_at"], default=None)


def run_story(lake: Lake, run_id: str) -> list[dict]:
    """Every record the run `run_id` (Airflow's, or its file-safe form) left in the lake, in the order its tasks
    write them: {kind, path, record}."""
    run = file_safe(run_id)
    found = []

    def add(kind: str, path: str) -> None:
        record = lake.read_json(path)
        if record is not None:
            found.append({"kind": kind, "path": lake.uri_of(path), "record": record})

    base = lake.path(*AUDIT_FOLDER)
    for folder in lake.list_dirs(base):
        for info in lake.list_files(f"{base}/{folder}"):
            if info.base_name.startswith(f"{run}.") and info.base_name.endswith(".json"):
                add("extract", info.path)
    add("transform", lake.path("_runs", "refresh", f"{run}.json"))
    for suite in lake.list_dirs(lake.path("_dq")):
        for info in sorted(lake.list_files(lake.path("_dq", suite, run)), key=lambda i: i.base_name):
            add("dq", info.path)
    add("register", lake.path("_runs", "register", f"{run}.json"))
    add("publish", lake.path("_runs", "publish", f"{run}.json"))
    add("reconcile", lake.path("_runs", "reconcile", f"{run}.json"))
    add("compact", lake.path("_runs", "compact", f"{run}.json"))
    for info in lake.list_files(lake.path("_alerts", run)):
        add("alert", info.path)
    return found


def print_status(lake: Lake) -> int:
    """Where the pipeline stands (pipeline.progress); exits 1 while a window is quarantined."""
    extracted, published = progress.extracted_mark(lake), progress.published_mark(lake)
    print(f"extracted through  {extracted.isoformat() if extracted else '-'}")
    print(f"published through  {published.isoformat() if published else '-'}")
    print(f"pending windows    {' '.join(progress.pending_labels(lake)) or '-'}")
    held = progress.quarantined(lake)
    for mark in held:
        print(f"quarantined        {mark.label}  run {mark.run_id}: {mark.reason[:160]}")
    if held:
        print(f"repair: {progress.RUNBOOK_QUARANTINE}")
    return 1 if held else 0


def reconciliations(lake: Lake) -> list[dict]:
    """Every reconciliation record, oldest first."""
    records = [lake.read_json(info.path) for info in lake.list_files(lake.path("_runs", "reconcile"))]
    return sorted((r for r in records if r), key=lambda r: r["reconciled_at"])


def print_reconciliations(lake: Lake, last: int) -> int:
    """The latest reconciliations, one line per day; exits 1 when the newest of any day differs."""
    print(f"{'day':<12}{'pg orders':>10}{'lake':>8}{'pg revenue':>14}{'lake':>14}  result    run_id")
    newest: dict[str, bool] = {}
    for record in reconciliations(lake)[-last:]:
        for day in record["days"]:
            source, kept = day["postgres"], day["lake"]
            verdict = "match" if day["match"] else "MISMATCH"
            print(
                f"{day['day']:<12}{source['orders']:>10}{kept['orders']:>8}{source['revenue']:>14}{kept['revenue']:>14}"
                f"  {verdict:<9} {record['run_id']}"
            )
            newest[day["day"]] = day["match"]
    return 0 if all(newest.values()) else 1


def _summary(kind: str, record: dict) -> str:
    """One line of what a record says."""
    if kind == "extract":
        orders = record.get("rows_out", {}).get("orders", "")
        return f"{record['window']['label']} try {record.get('attempt')} {record['status']} {orders} orders"
    if kind == "transform":
        written = sum(len(p) for p in record.get("marts", {}).get("partitions", {}).values())
        lines = record.get("order_lines", {}).get("rows_out", "")
        return f"{record.get('status')} {lines} lines, {written} mart partitions"
    if kind == "dq":
        return f"{record.get('suite')} try {record.get('attempt')} {'passed' if record.get('success') else 'FAILED'}"
    if kind == "register":
        return f"{record.get('status')} {sum(len(v) for v in record.get('registered', {}).values())} partitions"
    if kind == "publish":
        return f"windows {record.get('windows')} dq {record.get('dq_verdict')}"
    if kind == "reconcile":
        return f"{record.get('status')} days {[d['day'] for d in record.get('days', [])]}"
    if kind == "compact":
        return f"{record.get('status')} {record.get('windows')} windows into {sorted(record.get('months', {}))}"
    return f"{record.get('task_id')} try {record.get('try_number')}: {record.get('error', '')[:100]}"


def _utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a time zone, e.g. {text}Z")
    return value.astimezone(dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.audit", description="Orders extract audit.")
    parser.add_argument("--lake", help="lake URI (default: $BFP_LAKE_URI or the local lake)")
    commands = parser.add_subparsers(dest="command", required=True)
    runs = commands.add_parser("runs", help="the latest attempts per window")
    runs.add_argument("--last", type=int, default=24, help="how many (default %(default)s)")
    gaps = commands.add_parser("gaps", help="expected windows that did not succeed")
    gaps.add_argument("--from", dest="start", type=_utc, required=True, help="first window start (ISO, with zone)")
    gaps.add_argument("--to", dest="end", type=_utc, required=True, help="last window end (ISO, with zone)")
    gaps.add_argument(
        "--every-minutes", type=int, help="window length (default: BFP_WINDOW_MINUTES, the schedule's, or 60)"
    )
    commands.add_parser("status", help="the marks: extracted and published through, pending and quarantined windows")
    reconciled = commands.add_parser("reconciliations", help="the latest reconciliations with PostgreSQL, per day")
    reconciled.add_argument("--last", type=int, default=10, help="how many (default %(default)s)")
    story = commands.add_parser("run", help="every record one run left in the lake")
    story.add_argument("run_id", help="Airflow's run id (or its file-safe form used in the lake's paths)")
    args = parser.parse_args(argv)
    lake = Lake.from_uri(args.lake or settings_module.from_env().lake_uri)
    if args.command == "run":
        records = run_story(lake, args.run_id)
        for found in records:
            print(f"{found['kind']:<10}{_summary(found['kind'], found['record'])}  {found['path']}")
        if not records:
            print(f"no records of run {args.run_id!r} in {lake.uri_of(lake.path())}", file=sys.stderr)
        return 0 if records else 1
    if args.command == "status":
        return print_status(lake)
    if args.command == "reconciliations":
        return print_reconciliations(lake, args.last)
    if args.command == "runs":
        print(f"{'window':<15}{'status':<10}{'orders':>9}{'lines':>9}{'seconds':>9}  run_id / error")
        for record in attempts(lake)[-args.last :]:
            rows = record.get("rows_out", {})
            print(
                f"{record['window']['label']:<15}{record['status']:<10}{rows.get('orders', ''):>9}"
                f"{rows.get('order_items', ''):>9}{record.get('duration_seconds', ''):>9}  "
                f"{record['run_id']} {record.get('error', '')[:100]}"
            )
        return 0
    every = dt.timedelta(minutes=args.every_minutes or settings_module.window_minutes(os.environ))
    found = gap_report(lake, expected_windows(args.start, args.end, every))
    for gap in found:
        print(f"{gap['window']}  [{gap['start']}, {gap['end']})  {gap['last_status']}  {gap['last_error'][:120]}")
    print(f"{len(found)} gap(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
