"""Loads named SQL statements (`-- name: <name>` blocks) from .sql files: the storefront's own (serving/sql/)
through `statements`, and any folder's through `named_statements` (the data generator reads its own with it)."""

from __future__ import annotations

import functools
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"


def named_statements(sql_file: Path) -> dict[str, str]:
    """The statements of one .sql file by name, in file order."""
    named: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in sql_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name:"):
            current = named.setdefault(line.removeprefix("-- name:").strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(body).strip() for name, body in named.items()}


@functools.cache
def statements(file_name: str) -> dict[str, str]:
    """The storefront's statements of serving/sql/<file_name> by name."""
    return named_statements(SQL_DIR / file_name)
