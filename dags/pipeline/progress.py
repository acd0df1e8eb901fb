"""Where the pipeline stands, kept in the lake as a few small marks at fixed paths (never found by listing
history; docs/architecture.md, "The watermark rules" 1, 6 and 9):

    _progress/extracted.json           the extract's high-water mark: the end of the newest window it wrote
    _progress/published.json           the end of the newest window analysts see (freshness is measured on it)
    _progress/pending/<label>.json     a window extracted and not yet published: every later transform merges it
    _progress/quarantine/<label>.json  a window whose gate failed: no later run publishes anything built on it
    _progress/incidents/<key>.json     an open incident that alerted once (pipeline.alerts.incident)

A scheduled run extracts from the extracted mark to its own interval's end (the scheduler may skip intervals,
the extract must not); its transform merges every pending window, so a run that failed after its extract loses
nothing either. Listing `pending/` and `quarantine/` costs what the backlog holds, not the lake's age.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.extract.watermark import EPOCH, Window, label_end
from pipeline.lake import Lake

FOLDER = "_progress"
EXTRACTED = "extracted.json"
PUBLISHED = "published.json"
PENDING = "pending"
QUARANTINE = "quarantine"
RUNBOOK_QUARANTINE = "docs/runbook.md#a-window-is-quarantined"


class WindowQuarantinedError(RuntimeError):
    """A window this run would build on failed its gate and is not repaired yet: the run holds."""


def _end(document: dict | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(document["end"]) if document else None


def extracted_mark(lake: Lake) -> dt.datetime | None:
    """The end of the newest window the extract wrote (None on a new lake)."""
    return _end(lake.read_json(lake.path(FOLDER, EXTRACTED)))


def published_mark(lake: Lake) -> dt.datetime | None:
    """The end of the newest window whose rows analysts see (None before the first publication)."""
    return _end(lake.read_json(lake.path(FOLDER, PUBLISHED)))


def _advance(lake: Lake, name: str, end: dt.datetime, label: str, run_id: str, start: dt.datetime) -> None:
    path = lake.path(FOLDER, name)
    current = lake.read_json(path)
    if current is None or end > _end(current):  # a re-run of an older window never moves a mark back
        since = current["since"] if current else start.isoformat()  # the first window's start, kept
        document = {"end": end.isoformat(), "label": label, "run_id": run_id, "since": since}
        lake.write_json(path, {**document, "written_at": dt.datetime.now(dt.UTC)})


def window_extracted(lake: Lake, window: Window, run_id: str) -> None:
    """After a window's manifest: it is pending publication, and the extracted mark moves up to its end."""
    lake.write_json(lake.path(FOLDER, PENDING, f"{window.label}.json"), {**window.as_dict(), "run_id": run_id})
    _advance(lake, EXTRACTED, window.end, window.label, run_id, window.start)


def extracted_since(lake: Lake) -> dt.datetime | None:
    """The start of the first window the extract ever wrote: no window before it is expected."""
    document = lake.read_json(lake.path(FOLDER, EXTRACTED))
    return dt.datetime.fromisoformat(document["since"]) if document else None


def pending_labels(lake: Lake) -> list[str]:
    """Windows extracted and not yet published, oldest first."""
    labels = [info.base_name.removesuffix(".json") for info in lake.list_files(lake.path(FOLDER, PENDING))]
    return sorted(labels, key=label_end)


def windows_published(lake: Lake, labels: list[str], run_id: str) -> None:
    """After a publication: its windows are no longer pending or quarantined, and the published mark moves up."""
    if labels:
        newest = max(labels, key=label_end)
        _advance(lake, PUBLISHED, label_end(newest), newest, run_id, label_end(min(labels, key=label_end)))
    published = {f"{label}.json" for label in labels}  # a rebuild publishes every window: one listing each
    for folder in (PENDING, QUARANTINE):
        for info in lake.list_files(lake.path(FOLDER, folder)):
            if info.base_name in published:
                lake.fs.delete_file(info.path)


@dataclass(frozen=True)
class Quarantined:
    label: str
    run_id: str
    reason: str


def quarantine(lake: Lake, labels: list[str], run_id: str, reason: str) -> None:
    """Marks windows whose gate failed: later runs hold until a re-run of them passes the gate."""
    for label in labels:
        document = {"label": label, "run_id": run_id, "reason": reason[:2000], "runbook": RUNBOOK_QUARANTINE}
        lake.write_json(lake.path(FOLDER, QUARANTINE, f"{label}.json"), document)


def quarantined(lake: Lake) -> list[Quarantined]:
    """The windows in quarantine, oldest first."""
    found = [lake.read_json(info.path) for info in lake.list_files(lake.path(FOLDER, QUARANTINE))]
    marks = [Quarantined(doc["label"], doc["run_id"], doc["reason"]) for doc in found if doc]
    return sorted(marks, key=lambda mark: label_end(mark.label))


def hold_if_quarantined(lake: Lake, own: list[str]) -> None:
    """Raises WindowQuarantinedError when a quarantined window is not among the run's own windows: building on it
    would publish what its gate rejected. A re-run of the quarantined window itself (the repair) goes ahead."""
    blocking = [mark for mark in quarantined(lake) if mark.label not in set(own)]
    if blocking:
        first = blocking[0]
        names = ", ".join(mark.label for mark in blocking)
        raise WindowQuarantinedError(
            f"held: window(s) {names} failed the DQ gate (run {first.run_id}: {first.reason.splitlines()[0][:300]})"
            f" and are quarantined; nothing is built on them until they are repaired. This run's windows are "
            f"extracted and wait. Fix: {RUNBOOK_QUARANTINE} (repair the source, then clear run {first.run_id})"
        )


def grid_floor(moment: dt.datetime, length: dt.timedelta) -> dt.datetime:
    """The latest point of the schedule's grid at or before `moment`."""
    return EPOCH + ((moment - EPOCH) // length) * length


def grid_windows(start: dt.datetime, end: dt.datetime, length: dt.timedelta) -> list[Window]:
    """[start, end) cut at the schedule's grid (window ends on multiples of `length` since the epoch); a start
    off the grid (the window length changed) gives a shorter first window, so nothing is left out."""
    windows, cursor = [], start
    while cursor < end:
        next_end = min(EPOCH + ((cursor - EPOCH) // length + 1) * length, end)
        windows.append(Window(cursor, next_end))
        cursor = next_end
    return windows
