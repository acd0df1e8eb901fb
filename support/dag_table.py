"""The DAGs and their tasks as the DAG files define them: each DAG's schedule and, per task in run order, its
retries, the delay between them, its pool and trigger rule. `make dag-tasks` writes it into dags/README.md
(through bench/record.py, as the drills write their tables); tests/dags/test_dag_definitions.py fails when the
README's list is not what the loaded DAGs say.

    python -m support.dag_table        prints the list of the DAGs in dags/ (with this environment's settings)
"""

from __future__ import annotations

from pathlib import Path

DAG_FOLDER = Path(__file__).resolve().parents[1] / "dags"


def schedule_of(dag) -> str:
    """The schedule in words: a cron expression, the assets that trigger the DAG, or manual only."""
    if isinstance(dag.schedule, list | tuple):
        return "on " + ", ".join(asset.name for asset in dag.schedule)
    if dag.schedule is None:
        return "manual only"
    return f"cron {dag.timetable.expression} ({dag.timezone})"


def tasks_in_order(group) -> list:
    """The group's tasks in run order, those of a nested group (the publish chain) in its place."""
    tasks = []
    for node in group.topological_sort():
        tasks.extend(tasks_in_order(node) if hasattr(node, "topological_sort") else [node])
    return tasks


def task_list(dags: dict) -> str:
    """One block per DAG (by id): its schedule line, then a row per task in run order."""
    lines = []
    for dag_id, dag in sorted(dags.items()):
        lines.append(f"{dag_id}: {schedule_of(dag)}, catchup {dag.catchup}, {dag.max_active_runs} active run at most")
        lines.append(f"  {'task':<24}{'retries':>8}  {'retry delay':<12}{'pool':<17}trigger rule")
        for task in tasks_in_order(dag.task_group):
            delay = f"{int(task.retry_delay.total_seconds())} s" if task.retries else "-"
            rule = str(getattr(task.trigger_rule, "value", task.trigger_rule))
            lines.append(f"  {task.task_id:<24}{task.retries:>8}  {delay:<12}{task.pool:<17}{rule}")
    return "\n".join(lines) + "\n"


def main() -> int:
    import contextlib
    import sys

    from airflow.dag_processing.dagbag import DagBag

    with contextlib.redirect_stdout(sys.stderr):  # Airflow's own log lines are not the list
        bag = DagBag(dag_folder=str(DAG_FOLDER))
    if bag.import_errors:
        raise SystemExit(f"DAG files that do not import: {bag.import_errors}")
    sys.stdout.write(task_list(bag.dags))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
