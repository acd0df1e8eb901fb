"""Stage by stage from a Spark event log, for `make bench-transform`: what each step of the build spent where.

The benchmark names each step with a job group (SparkContext.setJobGroup); this reads the event log Spark
wrote (uncompressed, one JSON event per line) and gives, per step, its stages: wall time, task time, bytes
read, shuffled, spilled and written, and the physical operators that ran in the stage (from the SQL plans'
metric ids, so operators fused by whole-stage code generation are named too).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# Plan nodes that only wrap or adapt others: left out of a stage's operator list.
QUIET_NODES = {"WholeStageCodegen", "InputAdapter", "ColumnarToRow", "AdaptiveSparkPlan", "ShuffleQueryStage"}


@dataclass
class Stage:
    stage_id: int
    wall_s: float
    task_s: float
    read_mb: float
    shuffle_read_mb: float
    shuffle_write_mb: float
    spill_mb: float
    written_mb: float
    operators: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # "Sort: sort time" -> seconds, summed over tasks


# SQL metric types that are times, and their unit in seconds
TIMING_UNITS = {"timing": 1e-3, "nsTiming": 1e-9}


def _plan_metric_owners(info: dict, owners: dict[int, tuple[str, str, str]]) -> None:
    name = info.get("nodeName", "")
    for metric in info.get("metrics", []):
        owners[metric["accumulatorId"]] = (name, metric.get("name", ""), metric.get("metricType", ""))
    for child in info.get("children", []):
        _plan_metric_owners(child, owners)


def _quiet(name: str) -> bool:
    return any(name.startswith(prefix) for prefix in QUIET_NODES)


def stages_by_group(event_log: Path) -> dict[str, list[Stage]]:
    """Job group -> its completed stages in order (a stage skipped because its shuffle was reused is absent)."""
    group_of_stage: dict[int, str] = {}
    owners: dict[int, tuple[str, str, str]] = {}
    completed: list[tuple[int, dict]] = []
    with event_log.open(encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            kind = event["Event"]
            if kind == "SparkListenerJobStart":
                group = event.get("Properties", {}).get("spark.jobGroup.id") or "(no group)"
                for stage_id in event["Stage IDs"]:
                    group_of_stage[stage_id] = group
            elif kind.endswith("SparkListenerSQLExecutionStart") or kind.endswith(
                "SparkListenerSQLAdaptiveExecutionUpdate"
            ):
                _plan_metric_owners(event["sparkPlanInfo"], owners)
            elif kind == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                if "Completion Time" in info and "Failure Reason" not in info:
                    completed.append((info["Stage ID"], info))
    grouped: dict[str, list[Stage]] = defaultdict(list)
    for stage_id, info in completed:
        metrics = {a["Name"]: a.get("Value", 0) for a in info["Accumulables"] if "Name" in a}
        operators: list[str] = []
        timings: dict[str, float] = {}
        for accumulable in info["Accumulables"]:
            owner = owners.get(accumulable["ID"])
            if owner is None:
                continue
            node, metric, metric_type = owner
            if not _quiet(node) and node not in operators:
                operators.append(node)
            if metric_type in TIMING_UNITS:
                label = f"{node.split(' (')[0].strip()}: {metric}"
                seconds = float(accumulable.get("Value", 0) or 0) * TIMING_UNITS[metric_type]
                timings[label] = timings.get(label, 0.0) + seconds

        def mb(name: str, values: dict = metrics) -> float:
            return float(values.get(name, 0)) / 1e6

        grouped[group_of_stage.get(stage_id, "(no group)")].append(
            Stage(
                stage_id=stage_id,
                wall_s=(info["Completion Time"] - info["Submission Time"]) / 1000,
                task_s=float(metrics.get("internal.metrics.executorRunTime", 0)) / 1000,
                read_mb=mb("internal.metrics.input.bytesRead"),
                shuffle_read_mb=mb("internal.metrics.shuffle.read.remoteBytesRead")
                + mb("internal.metrics.shuffle.read.localBytesRead"),
                shuffle_write_mb=mb("internal.metrics.shuffle.write.bytesWritten"),
                spill_mb=mb("internal.metrics.diskBytesSpilled"),
                written_mb=mb("internal.metrics.output.bytesWritten"),
                operators=operators,
                timings=timings,
            )
        )
    return dict(grouped)


def format_stages(stages: list[Stage], indent: str = "    ", min_wall_s: float = 0.2) -> list[str]:
    """One line per stage of at least `min_wall_s` (the rest summed in one line)."""
    lines = []
    small = [s for s in stages if s.wall_s < min_wall_s]
    for stage in stages:
        if stage.wall_s < min_wall_s:
            continue
        moved = []
        for label, value in (
            ("read", stage.read_mb),
            ("shuffle in", stage.shuffle_read_mb),
            ("shuffle out", stage.shuffle_write_mb),
            ("spill", stage.spill_mb),
            ("written", stage.written_mb),
        ):
            if value >= 0.05:
                moved.append(f"{label} {value:,.1f} MB")
        lines.append(
            f"{indent}stage {stage.stage_id:>3} {stage.wall_s:>5.1f} s (tasks {stage.task_s:>5.1f} s)  "
            f"{', '.join(moved) or '-'}\n{indent}          {' > '.join(stage.operators) or '(no SQL operators)'}"
        )
        top = sorted(((s, label) for label, s in stage.timings.items() if s >= 0.1), reverse=True)[:4]
        if top:
            lines.append(f"{indent}          " + ", ".join(f"{label} {s:.1f} s" for s, label in top))
    if small:
        lines.append(
            f"{indent}{len(small)} stages under {min_wall_s} s: {sum(s.wall_s for s in small):.1f} s "
            "(small reads, counts, footers, tiny tables)"
        )
    return lines
