"""What a benchmark hands back, and how it ends.

Each benchmark collects an Outcome as it runs: its **figures** (named numbers at full precision, the ones the
capacity plan and later rounds read), its **goals** (a figure against its target, printed met or missed) and its
**controls** (a guarantee, or a check that the probe saw what it measures). `finish` applies the one exit policy
of every `make bench-…`: a failed control always fails the run; a missed goal is printed and recorded, and fails
the run only with `--strict`.

Under bench/record.py (which every `make bench-…` goes through) the outcome is written to the file named by
BFP_BENCH_OUTCOME; record.py keeps it as bench/results/<benchmark>.json with the run's date, machine, commit and
printed output, and renders docs/benchmarks.md's section from that file. bench/capacity.py plans from the same
files: no document is parsed back into numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

OUTCOME_SETTING = "BFP_BENCH_OUTCOME"  # set by bench/record.py: where finish() writes the outcome
COMPARISONS = {
    ">=": lambda value, target: value >= target,
    "<=": lambda value, target: value <= target,
    "==": lambda value, target: value == target,  # a yes/no goal (the same calls at every age)
}


@dataclass(frozen=True)
class Goal:
    name: str
    value: float | bool
    compare: str  # ">=", "<=" or "=="
    target: float | bool
    met: bool


@dataclass
class Outcome:
    benchmark: str  # its make target, e.g. bench-serve
    figures: dict[str, object] = field(default_factory=dict)
    goals: list[Goal] = field(default_factory=list)
    controls: dict[str, bool] = field(default_factory=dict)  # what was checked -> held

    def figure(self, name: str, value):
        """Keeps a figure (unrounded) and returns it."""
        self.figures[name] = value
        return value

    def goal(self, name: str, value: float | bool, compare: str, target: float | bool, detail: str = "") -> bool:
        """Records and prints a goal, met or missed; `detail` follows the figure on the printed line."""
        if compare not in COMPARISONS:
            raise ValueError(f"goal {name!r}: compare must be one of {sorted(COMPARISONS)}, not {compare!r}")
        met = bool(COMPARISONS[compare](value, target))
        self.goals.append(Goal(name, value, compare, target, met))
        wanted = shown(target) if isinstance(target, bool) else f"{target:g}"
        print(f"goal {'met   ' if met else 'MISSED'} {name}: {shown(value)} (goal {compare} {wanted}){detail}")
        return met

    def control(self, held: bool, what: str) -> bool:
        """Records and prints a control; one that failed fails the run whatever --strict says."""
        self.controls[what] = bool(held)
        print(f"{'check met   ' if held else 'check FAILED'} {what}")
        return bool(held)

    def finish(self, strict: bool = False) -> int:
        """Prints the verdict line, hands the outcome to bench/record.py (when it runs this) and returns the exit
        code: 1 when a control failed, or a goal was missed under --strict."""
        missed = [goal.name for goal in self.goals if not goal.met]
        failed = [what for what, held in self.controls.items() if not held]
        print(
            f"{self.benchmark}: {len(self.goals) - len(missed)} goal(s) met, {len(missed)} missed"
            f"{' (--strict: the run fails)' if strict and missed else ''}; "
            f"{len(self.controls) - len(failed)} control(s) held, {len(failed)} failed"
        )
        destination = os.environ.get(OUTCOME_SETTING)
        if destination:
            Path(destination).write_text(json.dumps(self.as_data(), indent=2, sort_keys=True) + "\n")
        sys.stdout.flush()
        return 1 if failed or (strict and missed) else 0

    def as_data(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "figures": self.figures,
            "goals": [asdict(goal) for goal in self.goals],
            "controls": self.controls,
        }


def shown(value: float | bool) -> str:
    """A goal's figure as printed (the kept one is unrounded)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def add_strict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed (a failed check always)")
