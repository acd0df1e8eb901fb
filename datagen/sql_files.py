"""Loads the generator's named SQL statements from datagen/sql/*.sql (`-- name: <name>` blocks). The storefront
has the same small loader (serving/sql_files.py): the deployables never import each other."""

from __future__ import annotations

import functools
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"


@functools.cache
def statements(file_name: str) -> dict[str, str]:
    """The statements of one .sql file by name, in file order."""
    named: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (SQL_DIR / file_name).read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name:"):
            current = named.setdefault(line.removeprefix("-- name:").strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(body).strip() for name, body in named.items()}
