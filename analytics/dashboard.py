"""The Black Friday dashboard: one self-contained HTML file (Plotly's script inlined, no CDN, works offline) built
from the registered tables through the canonical queries only, so the page and analysts' SQL always agree.

Plotly because it inlines its whole runtime into the page (hover, zoom and the year selector need no server and
no network), its figures are built in Python from the query rows, and the browser swaps them with
`Plotly.react` when the year changes. The US map is drawn as ranked bars: Plotly's state map fetches its
outlines from a CDN, which an offline page cannot.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from plotly.offline import get_plotlyjs

from analytics import queries

TEMPLATES = Path(__file__).with_name("templates")
BLUE, ORANGE, GREY, GREEN = "#1f5fa8", "#e07b00", "#9aa5b1", "#2e8540"
SEASON_QUERIES = ("daily_trend", "top_states", "category_mix", "olap_cube_slice", "season_to_date")
LAYOUT = {
    "margin": {"l": 70, "r": 20, "t": 90, "b": 60},
    "template": "plotly_white",
    "height": 400,
    "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
}


def _layout(title: str, x_title: str, y_title: str, **extra) -> dict:
    return {
        **LAYOUT,
        "title": {"text": title, "x": 0.01, "y": 0.97},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}},
        **extra,
    }


def daily_trend_figure(season: int, trend: queries.Result, summary: dict) -> go.Figure:
    """Orders per day in November and December, the 7-day average, the Black Friday window shaded."""
    rows = trend.records()
    dates = [r["order_date"] for r in rows]
    hover = [f"{r['weekday']}, T{r['days_from_thanksgiving']:+d}" for r in rows]
    figure = go.Figure(
        [
            go.Bar(
                x=dates,
                y=[r["orders"] for r in rows],
                name="orders",
                marker_color=GREY,
                customdata=hover,
                hovertemplate="%{x|%a %d %b %Y}<br>%{customdata}<br>%{y} orders<extra></extra>",
            ),
            go.Scatter(
                x=dates,
                y=[r["orders_7d_avg"] for r in rows],
                name="7-day average",
                line_color=BLUE,
                hovertemplate="%{x|%a %d %b}: %{y:.1f} orders/day (7-day average)<extra></extra>",
            ),
        ],
        _layout(
            f"Daily orders, November and December {season}",
            "day",
            "orders per day",
            xaxis={"title": {"text": "day"}, "tickformat": "%a %d %b"},
        ),
    )
    if summary:
        # the bars are centred on midnight: the shade runs from half a day before Thanksgiving to half after CM
        start = dt.datetime.fromisoformat(summary["thanksgiving"]) - dt.timedelta(hours=12)
        end = dt.datetime.fromisoformat(summary["cyber_monday"]) + dt.timedelta(hours=12)
        figure.add_vrect(
            x0=start,
            x1=end,
            fillcolor=ORANGE,
            opacity=0.18,
            line_width=0,
            annotation_text="Black Friday window",
            annotation_position="top left",
        )
    return figure


def by_year_figure(rows: list[dict], column: str, title: str, y_title: str) -> go.Figure:
    """Per season, the window's figure beside the seed week's; a season still running is marked, not drawn."""
    years = [str(r["year"]) for r in rows]
    figure = go.Figure(
        [
            go.Bar(
                x=years,
                y=[r[f"window_{column}"] for r in rows],
                name="Black Friday window",
                marker_color=ORANGE,
                hovertemplate="%{x}: %{y:.1f}% (Black Friday window)<extra></extra>",
            ),
            go.Bar(
                x=years,
                y=[r[f"seed_week_{column}"] for r in rows],
                name="seed week (Nov 22-28)",
                marker_color=BLUE,
                hovertemplate="%{x}: %{y:.1f}% (seed week)<extra></extra>",
            ),
        ],
        _layout(title, "season", y_title, barmode="group", xaxis={"title": {"text": "season"}, "type": "category"}),
    )
    for position, row in enumerate(rows):
        if row["status"] != "complete":
            # on a category axis a number is the category's position ("2023" would be read as x = 2023)
            figure.add_annotation(
                x=position,
                y=0,
                yanchor="bottom",
                showarrow=False,
                text=f"{row['year']}: in progress<br>(no figure until<br>the season ends)",
            )
    return figure


def season_to_date_figure(season: int, to_date: queries.Result) -> go.Figure:
    """This season's running orders against last year's, aligned on days from Thanksgiving."""
    rows = to_date.records()
    days = [r["days_from_thanksgiving"] for r in rows]
    labels = {-21: "T-21", -14: "T-14", -7: "T-7", 0: "Thanksgiving", 4: "Cyber Monday"}
    this_hover = [f"{r['weekday']} {r['order_date']}" + ("" if r["is_complete_day"] else " (so far)") for r in rows]
    last_hover = [f"{r['last_year_date']}" for r in rows]
    figure = go.Figure(
        [
            go.Scatter(
                x=days,
                y=[r["orders_to_date"] for r in rows],
                name=f"{season} to date",
                line_color=ORANGE,
                customdata=this_hover,
                hovertemplate="%{customdata}: %{y} orders to date<extra></extra>",
            ),
            go.Scatter(
                x=days,
                y=[r["last_year_orders_to_date"] for r in rows],
                name=f"{season - 1}, same days",
                line={"color": BLUE, "dash": "dash"},
                customdata=last_hover,
                hovertemplate="%{customdata}: %{y} orders to date<extra></extra>",
            ),
        ],
        _layout(
            f"Season to date: {season} against {season - 1}",
            "days from Thanksgiving",
            "orders since T-21",
        ),
    )
    figure.update_xaxes(tickvals=list(labels), ticktext=list(labels.values()))
    return figure


def states_figure(season: int, states: queries.Result) -> go.Figure:
    rows = states.records()[::-1]
    return go.Figure(
        go.Bar(
            x=[r["revenue"] for r in rows],
            y=[r["state"] for r in rows],
            orientation="h",
            marker_color=BLUE,
            customdata=[[r["orders"], r["revenue_share_pct"]] for r in rows],
            hovertemplate="%{y}: $%{x:,.2f}, %{customdata[0]} orders, %{customdata[1]}% of revenue<extra></extra>",
        ),
        _layout(f"Top ten states by revenue, {season}", "revenue (USD)", "shipping state"),
    )


def categories_figure(season: int, mix: queries.Result) -> go.Figure:
    rows = mix.records()
    this_year = sorted((r for r in rows if r["year"] == season), key=lambda r: r["revenue_share_pct"])
    last_year = {r["category"]: r["revenue_share_pct"] for r in rows if r["year"] == season - 1}
    categories = [r["category"] for r in this_year]
    return go.Figure(
        [
            go.Bar(
                x=[last_year.get(c) for c in categories],
                y=categories,
                orientation="h",
                name=str(season - 1),
                marker_color=GREY,
                hovertemplate="%{y}: %{x}% of " + str(season - 1) + " revenue<extra></extra>",
            ),
            go.Bar(
                x=[r["revenue_share_pct"] for r in this_year],
                y=categories,
                orientation="h",
                name=str(season),
                marker_color=ORANGE,
                hovertemplate="%{y}: %{x}% of " + str(season) + " revenue<extra></extra>",
            ),
        ],
        _layout(
            f"Category mix, {season} (its ten largest)",
            "% of the year's revenue",
            "category",
            barmode="group",
        ),
    )


def _plain(result: queries.Result) -> dict:
    """Columns and rows of a result as JSON-ready values (dates as ISO text)."""
    return {
        "columns": result.columns,
        "rows": [[v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in result.rows],
    }


def collect(analyst: queries.Analyst) -> dict:
    """Every query result the dashboard shows: the by-year queries once, the season queries per season."""
    by_year = analyst.run_canonical("black_friday_by_year")
    share = analyst.run_canonical("november_share")
    seasons = [r["year"] for r in by_year.records()]
    if not seasons:
        raise queries.QueryError("the catalog has no season registered: run the pipeline (make demo) first")
    latest = analyst.run_sql("SELECT year, as_of FROM marts.latest_completed_season").records()[0]
    per_season = {
        season: {name: analyst.run_canonical(name, season=season) for name in SEASON_QUERIES} for season in seasons
    }
    return {"by_year": by_year, "share": share, "latest": latest, "per_season": per_season}


def figures(results: dict) -> tuple[dict, dict]:
    """(figures shown for every season, figures per season) as Plotly JSON."""
    summaries = {r["year"]: r for r in results["by_year"].records()}
    shares = {r["year"]: r for r in results["share"].records()}
    by_year_rows = [{**summaries[y], **shares.get(y, {})} for y in summaries]
    fixed = {
        "surge": by_year_figure(
            by_year_rows,
            "surge_pct",
            "Black Friday surge: daily orders vs the rest of November",
            "% more orders per day",
        ),
        "share": by_year_figure(by_year_rows, "share_pct", "Share of November revenue", "% of November revenue"),
    }
    per_season = {}
    for season, result in results["per_season"].items():
        per_season[season] = {
            "daily": daily_trend_figure(season, result["daily_trend"], summaries.get(season, {})),
            "to_date": season_to_date_figure(season, result["season_to_date"]),
            "states": states_figure(season, result["top_states"]),
            "categories": categories_figure(season, result["category_mix"]),
        }
    as_json = lambda figure: json.loads(pio.to_json(figure, validate=False))  # noqa: E731
    return (
        {name: as_json(f) for name, f in fixed.items()},
        {season: {name: as_json(f) for name, f in charts.items()} for season, charts in per_season.items()},
    )


def render(catalog_path: str | None, out_dir: str) -> Path:
    """Runs the canonical queries, builds the figures, writes out_dir/index.html; returns its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with queries.Analyst(catalog_path) as analyst:
        results = collect(analyst)
    fixed, per_season = figures(results)
    by_year = results["by_year"].records()
    latest = results["latest"]
    default = latest["year"] if latest["year"] is not None else max(r["year"] for r in by_year)
    data = {
        "default_season": default,
        "fixed": fixed,
        "seasons": {str(season): charts for season, charts in per_season.items()},
        "tables": {
            str(season): {name: _plain(result[name]) for name in ("olap_cube_slice", "season_to_date", "top_states")}
            for season, result in results["per_season"].items()
        },
        "status": {str(r["year"]): r["status"] for r in by_year},
    }
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    html = environment.get_template("dashboard.html").render(
        plotly_js=get_plotlyjs(),
        data_json=json.dumps(data, default=str).replace("</", "<\\/"),
        as_of=by_year[-1]["as_of"],
        latest_completed=latest["year"],
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        seasons=[r["year"] for r in by_year][::-1],
        default_season=default,
        summary=results["by_year"],
    )
    path = out / "index.html"
    path.write_text(html)
    return path
