"""The one structured line each pipeline task logs per attempt, under the key `bfp_task` (on-call searches the
task's log for it; docs/runbook.md#reading-a-tasks-log), and the failure line with what to do next."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator

log = logging.getLogger("pipeline.tasks")


def line(event: dict, level: int = logging.INFO) -> dict:
    """Logs the task's line (JSON, keys sorted) and returns the event."""
    log.log(level, json.dumps(event, default=str, sort_keys=True))
    return event


def logged(exc: BaseException) -> BaseException:
    """Marks `exc` as told in its task's line already (a step that logs its own failure or deferral): the blocks
    around it (failure_logged, pipeline.wiring.logged_task) then add no second line."""
    with contextlib.suppress(AttributeError):  # a few built-in exceptions take no attribute
        exc.bfp_logged = True
    return exc


@contextlib.contextmanager
def failure_logged(
    task: str, run_id: str | None, next_step: str, passes: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """A failure inside logs the task's line (status failed, the error, what to do) before it propagates; once,
    when blocks nest (the innermost says most); `passes`: exceptions that are not failures (a skip). An error that
    knows better what to do (a `next_step` of its own or of its cause) says it instead of `next_step`."""
    try:
        yield
    except passes:
        raise
    except Exception as exc:
        if getattr(exc, "bfp_logged", False):
            raise
        logged(exc)
        next_step = getattr(exc, "next_step", None) or getattr(exc.__cause__, "next_step", None) or next_step
        line(
            {
                "bfp_task": task,
                "status": "failed",
                "run_id": run_id,
                "error": f"{type(exc).__name__}: {exc}"[:3000],
                "next_step": next_step,
            },
            logging.ERROR,
        )
        raise
