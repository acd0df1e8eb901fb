"""The Black Friday report: one HTML page with PNG charts, from the registered marts (the canonical queries
where one exists, so the report and analysts' SQL agree)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from jinja2 import Environment, FileSystemLoader, select_autoescape

from analytics import queries

TEMPLATES = Path(__file__).with_name("templates")
BLUE, ORANGE, GREY = "#1f5fa8", "#e07b00", "#9aa5b1"


def _save(fig, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def daily_trend_chart(trend: queries.Result, summary: queries.Result, out: Path) -> str:
    rows = trend.records()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    if rows:
        dates = [r["order_date"] for r in rows]
        ax.bar(dates, [r["orders"] for r in rows], color=GREY, width=0.8, label="orders per day")
        ax.plot(dates, [r["orders_7d_avg"] for r in rows], color=BLUE, label="7-day average")
        year = dates[0].year
        for s in summary.records():
            if s["year"] == year:
                start = dt.date.fromisoformat(s["thanksgiving"])
                end = dt.date.fromisoformat(s["cyber_monday"])
                ax.axvspan(
                    start - dt.timedelta(days=0.5),
                    end + dt.timedelta(days=0.5),
                    color=ORANGE,
                    alpha=0.2,
                    label="Black Friday window (Thanksgiving .. Cyber Monday)",
                )
        ax.set_title(f"Daily orders, November and December {year}")
    ax.set_ylabel("orders")
    ax.legend(loc="upper right")
    return _save(fig, out, "daily_trend.png")


def window_vs_seed_chart(result: queries.Result, prefix: str, ylabel: str, title: str, out: Path, name: str) -> str:
    """Per year, the Black Friday window's figure next to the seed week's (columns window_<prefix>,
    seed_week_<prefix>)."""
    rows = result.records()
    rows = [r for r in rows if r[f"window_{prefix}"] is not None or r[f"seed_week_{prefix}"] is not None]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for offset, column, color, label in ((-0.2, "window", ORANGE, "BF window"), (0.2, "seed_week", BLUE, "Nov 22-28")):
        ax.bar([i + offset for i in x], [r[f"{column}_{prefix}"] or 0 for r in rows], 0.4, color=color, label=label)
    ax.set_xticks(list(x), [str(r["year"]) for r in rows])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return _save(fig, out, name)


def states_chart(states: queries.Result, season: int, out: Path) -> str:
    rows = states.records()[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.barh([r["state"] for r in rows], [r["revenue"] for r in rows], color=BLUE)
    ax.set_xlabel("revenue, USD")
    ax.set_title(f"Top states by revenue, {season}")
    return _save(fig, out, "top_states.png")


def categories_chart(mix: queries.Result, season: int, out: Path) -> str:
    rows = mix.records()
    top = sorted((r for r in rows if r["year"] == season), key=lambda r: r["revenue_share_pct"])
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.barh([r["category"] for r in top], [r["revenue_share_pct"] for r in top], color=ORANGE)
    ax.set_xlabel("% of the year's revenue")
    ax.set_title(f"Category mix, {season} (the ten largest)")
    return _save(fig, out, "category_mix.png")


def render(catalog_path: str | None, out_dir: str) -> Path:
    """Runs the canonical queries, draws the charts, writes index.html; returns its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with queries.Analyst(catalog_path) as analyst:
        results = {name: analyst.run_canonical(name) for name in queries.canonical_queries()}
    completed = [r["year"] for r in results["bf_week_by_year"].records() if r["window_surge_pct"] is not None]
    if not completed:
        raise queries.QueryError("the catalog has no completed Black Friday season registered: run the pipeline first")
    season = max(completed)  # the latest completed season, as the canonical queries define it
    charts = {
        "Daily trend": daily_trend_chart(results["daily_trend"], results["bf_week_by_year"], out),
        "Surge by year": window_vs_seed_chart(
            results["bf_week_by_year"],
            "surge_pct",
            "daily orders vs rest of November, %",
            "Black Friday surge by year",
            out,
            "surge_by_year.png",
        ),
        "November revenue share": window_vs_seed_chart(
            results["november_share"],
            "share_pct",
            "% of November revenue",
            "November revenue earned in Black Friday week",
            out,
            "november_share.png",
        ),
        "Top states": states_chart(results["top_states"], season, out),
        "Category mix": categories_chart(results["category_mix"], season, out),
    }
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    html = environment.get_template("report.html").render(
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        charts=charts,
        summary=results["bf_week_by_year"],
        share=results["november_share"],
        cube=results["olap_cube_slice"],
    )
    path = out / "index.html"
    path.write_text(html)
    return path
