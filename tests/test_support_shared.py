"""Tests, drills, benchmarks and the demo share their helpers through support/ instead of copying them: no
function or class that support/ defines is defined again elsewhere, and no two functions anywhere in these
folders have the same body."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("tests", "drills", "bench", "scripts", "support")
# Same name, another thing: Locust's user class (Locust runs it, with its own client and think time).
SAME_NAME_ELSEWHERE = {"Shopper": {"bench/locustfile.py"}}
SMALLEST_BODY = 3  # statements: shorter functions (a one-line property, a return) may well be alike


def definitions() -> list[tuple[str, ast.AST]]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            found += [(str(path.relative_to(ROOT)), node) for node in ast.walk(tree)]
    return found


def body_without_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    first = node.body[0]
    has_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    return node.body[1:] if has_docstring else node.body


def test_nothing_support_defines_is_defined_again_elsewhere():
    every = definitions()
    support_names = {
        node.name
        for path, node in every
        if path.startswith("support/")
        and isinstance(node, ast.FunctionDef | ast.ClassDef)
        and node.col_offset == 0
        and not node.name.startswith("_")
    }
    assert {"free_port", "wait_until", "Shopper", "Services", "running_gunicorn"} <= support_names
    support_names.discard("main")  # every script has one
    copies = sorted(
        f"{path}: {node.name}"
        for path, node in every
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name in support_names
        and not path.startswith("support/")
        and path not in SAME_NAME_ELSEWHERE.get(node.name, ())
    )
    assert not copies, f"defined in support/ and again here (import it from support/ instead): {copies}"


def test_no_two_functions_have_the_same_body():
    by_body = defaultdict(list)
    for path, node in definitions():
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = body_without_docstring(node)
            if len(body) >= SMALLEST_BODY:
                by_body[ast.dump(ast.Module(body=body, type_ignores=[]))].append(f"{path}:{node.lineno} {node.name}")
    copied = [places for places in by_body.values() if len(places) > 1]
    assert not copied, f"the same function body more than once (move it to support/): {copied}"
