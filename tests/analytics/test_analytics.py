"""Analyst SQL on a hand-built lake of marts (a running season beside complete ones), in a real DuckDB catalog."""

from __future__ import annotations

import pytest

from analytics import __main__ as cli
from analytics import queries
from tests.analytics.conftest import AS_OF


def run(catalog_path, name, **values) -> list[tuple]:
    with queries.Analyst(catalog_path) as analyst:
        return analyst.run_canonical(name, **values).rows


def test_black_friday_by_year_shows_a_running_season_without_surge(catalog_path):
    assert run(catalog_path, "black_friday_by_year") == [
        (2021, "complete", "2023-11-24", "2021-11-25", "2021-11-26", "2021-11-29", 100, 45.0, 33.9, "2021-11-26",
         "Friday", 151, 151, 9),
        (2022, "complete", "2023-11-24", "2022-11-24", "2022-11-25", "2022-11-28", 100, 48.0, -2.9, "2022-11-25",
         "Friday", 160, 160, 9),
        (2023, "in_progress", "2023-11-24", "2023-11-23", "2023-11-24", "2023-11-27", 100, None, None, "2023-11-24",
         "Friday", 170, 170, 9),
    ]  # fmt: skip


def test_november_share_is_null_while_the_season_runs(catalog_path):
    assert [row[:2] + row[5:] for row in run(catalog_path, "november_share")] == [
        (2021, "complete", 25.0, 30.0),
        (2022, "complete", 19.3, 31.0),  # 19.3457% rounded once (not 19.35 then 19.4)
        (2023, "in_progress", None, None),
    ]


def test_every_share_a_query_shows_is_its_parts_rounded_once(catalog_path):
    """Recomputed from the parts the same rows carry: the window's November revenue over November's, each
    category's and state's revenue over the year's, each cube cell's over its state's and its month's."""
    for year, status, november, _window, window_november, share_pct, _seed in run(catalog_path, "november_share"):
        if status == "complete":
            assert share_pct == round(100 * window_november / november, 1), year
    with queries.Analyst(catalog_path) as analyst:
        con = analyst.conn
        season = con.execute("SELECT year FROM marts.latest_completed_season").fetchone()[0]
        mix = analyst.run_canonical("category_mix").records()
        states = analyst.run_canonical("top_states").records()
        assert mix and states
        for row in mix:
            revenue = con.execute(
                "SELECT sum(CASE WHEN category = ? THEN revenue END) / sum(revenue) FROM marts.category_sales "
                "WHERE year = ?",
                [row["category"], row["year"]],
            ).fetchone()[0]
            assert row["revenue_share_pct"] == round(100 * float(revenue), 1), row
        for row in states:
            revenue = con.execute(
                "SELECT sum(CASE WHEN state = ? THEN revenue END) / sum(revenue) FROM marts.state_sales WHERE year = ?",
                [row["state"], season],
            ).fetchone()[0]
            assert row["revenue_share_pct"] == round(100 * float(revenue), 1), row


def test_daily_trend_is_the_latest_completed_season_with_a_moving_average(catalog_path):
    assert run(catalog_path, "daily_trend") == [
        ("2022-11-01", "Tuesday", -23, 10, 50.0, 10.0, False),
        ("2022-11-25", "Friday", 1, 40, 150.0, 25.0, True),
        ("2022-12-01", "Thursday", 7, 4, 20.0, 18.0, False),
    ]


def test_top_states_of_the_latest_completed_season_not_the_running_one(catalog_path):
    # 2023 is registered but running; 2024 is written to the lake but not registered
    assert run(catalog_path, "top_states") == [("CA", 3, 300.0, 75.0), ("TX", 1, 100.0, 25.0)]
    assert run(catalog_path, "top_states", season=2023) == [("IL", 40, 80.0, 100.0)]


def test_category_mix(catalog_path):
    assert run(catalog_path, "category_mix") == [
        (2021, "BOOKS", 30.0),
        (2022, "BOOKS", 60.0),
        (2023, "BOOKS", 100.0),
        (2021, "TOYS", 70.0),
        (2022, "TOYS", 40.0),
        (2023, "TOYS", 0.0),
    ]


def test_olap_cube_slice_uses_the_state_and_month_totals(catalog_path):
    assert run(catalog_path, "olap_cube_slice") == [
        ("TX", "TOYS", 1, 60.0, 100.0, 60.0),
        ("CA", "TOYS", 2, 30.0, 75.0, 30.0),
        ("CA", "BOOKS", 1, 10.0, 25.0, 10.0),
    ]


def test_season_to_date_compares_the_running_season_with_the_same_days_last_year(catalog_path):
    rows = run(catalog_path, "season_to_date")
    assert [row[0] for row in rows] == list(range(-21, 2))  # up to Black Friday, the as-of day
    thanksgiving = rows[21]
    assert thanksgiving[:8] == (0, "2023-11-23", "Thursday", 12, 264, 264.0, True, "2022-11-24")
    assert thanksgiving[8:] == (10, 220, 220.0, 20.0, 20.0)
    black_friday = rows[22]
    assert (black_friday[1], black_friday[6], black_friday[9]) == ("2023-11-24", False, 230)  # today, still filling


def test_the_season_rule_lives_in_one_view(catalog_path):
    with queries.Analyst(catalog_path) as analyst:
        assert analyst.run_sql("SELECT year, as_of FROM marts.latest_completed_season").rows == [(2022, AS_OF)]
    for name, path in queries.canonical_queries().items():
        text = path.read_text()
        assert "status = 'complete'" not in text, f"{name} applies the season rule itself"
        if "latest completed" in queries.describe(path):
            assert "marts.latest_completed_season" in text and queries.parameters(text) == ["season"]


@pytest.mark.parametrize("name", sorted(queries.canonical_queries()))
def test_each_canonical_query_is_athena_sql_that_translates_to_duckdb(name):
    source = queries.canonical_queries()[name].read_text()
    translated = queries.to_duckdb(source)
    assert translated and translated != source
    assert "date_format" not in translated.lower() and "day_of_week" not in translated.lower()


def test_the_cli_runs_a_query_ad_hoc_sql_and_explains_errors(catalog_path, capsys):
    assert cli.main(["--catalog", catalog_path, "query", "top_states", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "state,orders,revenue,revenue_share_pct",
        "CA,3,300.0,75.0",
        "TX,1,100.0,25.0",
    ]
    assert cli.main(["--catalog", catalog_path, "query", "top_states", "--season", "2023", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["IL,40,80.0,100.0"]
    with pytest.raises(SystemExit) as refused:
        cli.main(["--catalog", catalog_path, "query", "top_states", "--season", "99999999999999999999"])
    assert refused.value.code == 2 and "must be a year like 2025" in capsys.readouterr().err
    assert cli.main(["--catalog", catalog_path, "query", "november_share", "--season", "2023"]) == 1
    assert "this query takes no parameters" in capsys.readouterr().err
    sql = "SELECT year, day_of_week(peak_day) AS dow FROM marts.black_friday_summary ORDER BY year"
    assert cli.main(["--catalog", catalog_path, "query", "--sql", sql, "--format", "csv", "--show-sql"]) == 0
    out = capsys.readouterr().out
    assert "ISODOW" in out and out.endswith("year,dow\n2021,5\n2022,5\n2023,5\n")
    assert cli.main(["--catalog", catalog_path, "query", "nope"]) == 1
    assert "no canonical query 'nope'" in capsys.readouterr().err
    assert cli.main(["--catalog", catalog_path, "query", "--sql", "SELECT FROM WHERE ("]) == 1
    assert "does not parse" in capsys.readouterr().err
    assert cli.main(["--catalog", catalog_path, "query", "--sql", "SELECT * FROM marts.nope"]) == 1
    assert "failed on DuckDB" in capsys.readouterr().err
    assert cli.main(["--catalog", catalog_path, "query", "--sql", "DROP TABLE marts.state_sales"]) == 1  # read-only
    assert cli.main(["--catalog", "/nonexistent/catalog.duckdb", "query", "top_states"]) == 1
    assert "run `make demo`" in capsys.readouterr().err
