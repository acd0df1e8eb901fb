"""Synthesizes the stacks of every size of the capacity plan, offline: `make synth`.

    python -m bfp_infra.synth [--out cdk.out] [SIZE ...]

Each size goes to OUT/<size>/ (templates and assets: what `cdk deploy -c size=SIZE` would deploy); prints each
size's stacks, resources and the time it took.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bfp_infra import platform, sizes


def synthesize(size: str, out: Path) -> dict[str, int]:
    """Stack name -> resource count of `size`, written to `out`."""
    app = platform.app(size, str(out))
    platform.build(app, size)
    assembly = app.synth()
    return {
        stack.stack_name: len(json.loads(Path(stack.template_full_path).read_text())["Resources"])
        for stack in assembly.stacks
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bfp_infra.synth", description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", help="sizes to synthesize (default: every size in sizes.json)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "cdk.out")
    args = parser.parse_args(argv)
    chosen = args.sizes or sizes.names()
    started = time.perf_counter()
    for size in chosen:
        began = time.perf_counter()
        try:
            stacks = synthesize(size, args.out / size)
        except (sizes.SizeError, ValueError) as exc:
            print(f"synth: {exc}", file=sys.stderr)
            return 1
        resources = ", ".join(f"{name} {count}" for name, count in stacks.items())
        print(f"{size}: {len(stacks)} stacks ({resources} resources) in {time.perf_counter() - began:.1f} s")
    print(f"every size in {time.perf_counter() - started:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
