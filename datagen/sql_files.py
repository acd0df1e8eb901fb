"""The generator's named SQL statements, from datagen/sql/*.sql, read with the storefront's loader (the same
`-- name: <name>` format)."""

from __future__ import annotations

import functools
from pathlib import Path

from serving.sql_files import named_statements

SQL_DIR = Path(__file__).resolve().parent / "sql"


@functools.cache
def statements(file_name: str) -> dict[str, str]:
    """The statements of datagen/sql/<file_name> by name, in file order."""
    return named_statements(SQL_DIR / file_name)
