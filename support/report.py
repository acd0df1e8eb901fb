"""The goal table every drill ends with: one row per measure, its figure, its goal, met or missed."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def goal_table(console: Console, title: str, rows: list[tuple[str, str, str, bool | None]]) -> int:
    """Prints the rows (a None verdict: a figure without a goal); the exit code: 1 when a goal is missed."""
    table = Table("measure", "figure", "goal", "verdict", title=title)
    for measure, figure, goal, met in rows:
        verdict = "" if met is None else "[green]met[/green]" if met else "[red]missed[/red]"
        table.add_row(measure, figure, goal, verdict)
    console.print(table)
    return 0 if all(met is not False for *_, met in rows) else 1
