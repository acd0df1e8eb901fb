"""Watermark windows: half-open [start, end) UTC intervals taken from the DAG run, and the check that a
window is safe to extract (docs/architecture.md, "The watermark rules", 1-3)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")
WINDOW_LABEL_FORMAT = "%Y%m%dT%H%M"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # the schedule's grid: window ends on multiples of its length


class UnsafeWindowError(RuntimeError):
    """The window cannot be extracted yet; the task fails so that Airflow retries it later."""


class BlindExtractRoleError(RuntimeError):
    """The extract's role cannot see other roles' open transactions: retrying will not help, a grant will."""


@dataclass(frozen=True)
class Window:
    """Half-open [start, end) in UTC. The next window starts at this one's end, never at a max(updated_at)."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise ValueError(f"window {name} must be a timezone-aware datetime, got {value!r}")
            object.__setattr__(self, name, value.astimezone(dt.UTC))
        if self.start >= self.end:
            raise ValueError(f"window start {self.start.isoformat()} must be before end {self.end.isoformat()}")

    @property
    def label(self) -> str:
        """The lake partition value: the window end in UTC, YYYYMMDDTHHMM; an end that is not on a whole
        minute (manual windows) keeps its seconds and microseconds, so two windows never share a folder."""
        if self.end.second == 0 and self.end.microsecond == 0:
            return self.end.strftime(WINDOW_LABEL_FORMAT)
        return self.end.strftime(WINDOW_LABEL_FORMAT + "%S%f")

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """From ISO-8601 strings (a trailing Z is accepted); naive times are refused, not guessed."""
        try:
            return cls(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
        except ValueError as exc:
            raise ValueError(f"invalid window [{start}, {end}): {exc}") from None


def label_end(label: str) -> dt.datetime:
    """The window end a label names (Window.label's inverse)."""
    pattern = WINDOW_LABEL_FORMAT + ("%S%f" if len(label) > 13 else "")
    return dt.datetime.strptime(label, pattern).replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class SnapshotFacts:
    """What the extract's snapshot saw when it judged the window safe."""

    snapshot_time: dt.datetime
    snapshot: str
    lag_seconds: float

    def as_dict(self) -> dict[str, str | float]:
        return {"time": self.snapshot_time.isoformat(), "snapshot": self.snapshot, "lag_seconds": self.lag_seconds}


def check_window_safe(cur, window: Window, lag: dt.timedelta) -> SnapshotFacts:
    """Raises UnsafeWindowError unless `window` is complete in the current snapshot (run it first in the
    transaction). Never shrinks the window: the caller retries the same window later."""
    cur.execute(
        (SQL_DIR / "window_safety.sql").read_text(),
        {"window_end": window.end, "lag_seconds": lag.total_seconds()},
    )
    snapshot_time, snapshot, old_enough, open_transactions, prepared, role, sees_all = cur.fetchone()
    if not sees_all:
        raise BlindExtractRoleError(
            f"the extract's role {role!r} cannot see other roles' transactions (pg_stat_activity.xact_start is "
            f"NULL for them), so the open-transaction check would pass blind and late commits would be lost; "
            f"refusing to extract. Fix: GRANT pipeline_extract TO {role} (migration 0008: SELECT on orders and "
            f"order_items, and pg_read_all_stats), or GRANT pg_read_all_stats TO {role}; then clear the task"
        )
    if isinstance(open_transactions, str):
        open_transactions = json.loads(open_transactions)
    if not old_enough:
        raise UnsafeWindowError(
            f"window {window.label} ends at {window.end.isoformat()}, less than the lag {lag} before the "
            f"database time {snapshot_time.isoformat()}; it will be retried"
        )
    if open_transactions:
        oldest = open_transactions[0]
        raise UnsafeWindowError(
            f"window {window.label}: {len(open_transactions)} transaction(s) that began before the window end "
            f"are still open (oldest: pid {oldest['pid']}, began {oldest['xact_start']}, state {oldest['state']}, "
            f"application {oldest['application_name']!r}); their rows may still land in this window, so the "
            f"extract waits and retries. If one stays open, end it (pg_terminate_backend) or set "
            f"idle_in_transaction_session_timeout"
        )
    if prepared:
        raise UnsafeWindowError(
            f"window {window.label}: {prepared} prepared transaction(s) are pending; commit or roll them back "
            f"(pg_prepared_xacts), the extract retries"
        )
    return SnapshotFacts(snapshot_time, snapshot, lag.total_seconds())
