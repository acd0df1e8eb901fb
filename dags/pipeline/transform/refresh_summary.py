"""What a Spark refresh's summary says it changed, per catalog table: the partitions it wrote (registration adds
them) and the ones every row moved out of (registration drops them)."""

from __future__ import annotations

CURATED_TABLE = "curated.order_lines"


def written_partitions(refresh: dict) -> dict[str, list[str]]:
    """Table -> partitions a refresh run wrote (what registration adds)."""
    tables = {}
    if "order_lines" in refresh:
        tables[CURATED_TABLE] = refresh["order_lines"]["partitions"]
    tables.update(refresh.get("marts", {}).get("partitions", {}))  # keyed by table: marts.daily_sales, ...
    return tables


def version_locations(refresh: dict) -> dict[str, dict[str, str]]:
    """Table -> partition -> URI of the version the refresh wrote (what the gate validates and registration
    points the catalog at)."""
    tables = {}
    if refresh.get("order_lines", {}).get("locations"):
        tables[CURATED_TABLE] = refresh["order_lines"]["locations"]
    tables.update(refresh.get("marts", {}).get("locations", {}))
    return tables


def removed_partitions(refresh: dict) -> dict[str, list[str]]:
    """Table -> partitions every row moved out of (what registration drops)."""
    removed = refresh.get("order_lines", {}).get("partitions_removed", [])
    tables = {CURATED_TABLE: removed} if removed else {}
    tables.update(refresh.get("marts", {}).get("partitions_removed", {}))  # season marts a new as-of date shrank
    return tables


def merged_windows(refresh: dict) -> list[str]:
    """The raw windows a refresh merged (published together when it is registered)."""
    return refresh.get("order_lines", {}).get("windows") or refresh.get("windows", [])
