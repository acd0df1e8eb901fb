"""The dashboard in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium), opened from
the file with the network off: it loads without console errors, every chart draws, the season selector
redraws them, and what it shows equals the canonical queries' rows."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from analytics import __main__ as cli
from analytics import queries
from tests.conftest import ROOT, headless_chromium

CHARTS = ("daily", "to_date", "surge", "share", "states", "categories")
SCREENSHOT = ROOT / "test-output" / "dashboard.png"


@pytest.fixture(scope="module")
def dashboard(catalog_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert cli.main(["--catalog", catalog_path, "report", "--out", str(out)]) == 0
    return out / "index.html"


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium(offline=True)
    yield driver
    driver.quit()


def chart_data(driver, chart: str) -> list[dict]:
    return driver.execute_script(
        "const d = document.getElementById(arguments[0]).data;"
        "return d.map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || [])}));",
        f"chart-{chart}",
    )


def wait_drawn(driver) -> None:
    WebDriverWait(driver, 20).until(
        lambda d: all(
            d.execute_script(
                "const e = document.getElementById(arguments[0]); return !!(e && e._fullLayout);", f"chart-{c}"
            )
            for c in CHARTS
        ),
        "not every chart was drawn",
    )


def test_the_page_is_self_contained(dashboard):
    html = dashboard.read_text()
    assert "<script src=" not in html and "<link " not in html  # Plotly and the data are inlined
    assert "Data as of 2023-11-24" in html


def test_the_dashboard_draws_every_chart_and_follows_the_season_selector(dashboard, browser, catalog_path):
    browser.get(dashboard.as_uri())
    wait_drawn(browser)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    for chart in CHARTS:
        assert browser.find_elements(By.CSS_SELECTOR, f"#chart-{chart} .main-svg"), f"{chart} has no SVG"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))

    selector = Select(browser.find_element(By.ID, "season"))
    assert selector.first_selected_option.text == "2022"  # the latest completed season, not the running 2023
    assert browser.find_element(By.ID, "season-status").text == "complete"
    with queries.Analyst(catalog_path) as analyst:
        expected = {
            season: {
                "daily": analyst.run_canonical("daily_trend", season=season).records(),
                "states": analyst.run_canonical("top_states", season=season).records(),
                "to_date": analyst.run_canonical("season_to_date", season=season).records(),
                "cube": analyst.run_canonical("olap_cube_slice", season=season).rows,
            }
            for season in (2022, 2023)
        }
        surge = analyst.run_canonical("black_friday_by_year").records()
    for season in (2022, 2023):
        selector.select_by_visible_text(str(season))
        WebDriverWait(browser, 10).until(
            lambda d, s=season: (
                str(s) in d.execute_script("return document.getElementById('chart-daily').layout.title.text")
            )
        )
        daily, states, to_date = (chart_data(browser, c)[0] for c in ("daily", "states", "to_date"))
        assert daily["y"] == [r["orders"] for r in expected[season]["daily"]]
        assert daily["x"] == [r["order_date"] for r in expected[season]["daily"]]
        assert states["y"] == [r["state"] for r in expected[season]["states"]][::-1]
        assert states["x"] == [r["revenue"] for r in expected[season]["states"]][::-1]
        assert to_date["y"] == [r["orders_to_date"] for r in expected[season]["to_date"]]
        cube_rows = browser.find_elements(By.CSS_SELECTOR, "#cube-table tr")[1:]
        assert len(cube_rows) == len(expected[season]["cube"])
    assert browser.find_element(By.ID, "season-status").text == "in progress"

    # a running season is marked, never drawn as a finished one's surge
    window = next(t for t in chart_data(browser, "surge") if t["name"] == "Black Friday window")
    assert window["x"] == [str(r["year"]) for r in surge]
    assert window["y"] == [r["window_surge_pct"] for r in surge] and window["y"][-1] is None
    notes = browser.execute_script(
        "return document.getElementById('chart-surge').layout.annotations.map(a => [a.x, a.text])"
    )
    assert notes == [[2, "2023: in progress<br>(no figure until<br>the season ends)"]]  # 2023 is the third season
    bars = browser.execute_script("return document.querySelectorAll('#chart-surge .bars path').length")
    assert bars == 2 * len(surge)


def test_the_cube_table_filters_by_state_or_category(dashboard, browser):
    browser.get(dashboard.as_uri())
    wait_drawn(browser)
    Select(browser.find_element(By.ID, "season")).select_by_visible_text("2022")
    browser.find_element(By.ID, "cube-filter").send_keys("tx")
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#cube-table tr")[1:]]
    assert rows and all(row.startswith("TX ") for row in rows)
