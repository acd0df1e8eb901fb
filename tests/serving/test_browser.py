"""A real headless Chromium (Debian's chromium + chromedriver, driven by Selenium) shops on a running server."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT, headless_chromium
from tests.serving.conftest import SHIPPING

SCREENSHOTS = ROOT / "test-output" / "browser"


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium()
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def shot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def wait_for_text(driver, text: str) -> None:
    """Waits (up to 10 s) for the page after a click or submit to show `text`."""
    WebDriverWait(driver, 10).until(lambda d: text in d.page_source, f"page never showed {text!r}")


def test_a_shopper_browses_searches_buys_and_sees_the_order_in_history(browser, live_server):
    browser.get(live_server.url + "/")
    browser.find_element(By.CSS_SELECTOR, "ul.tiles a").click()
    wait_for_text(browser, "Sort by:")
    assert browser.find_elements(By.CSS_SELECTOR, "table.products tbody a")
    next_links = browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
    if next_links:
        next_links[0].click()
        wait_for_text(browser, 'rel="prev"')
        assert browser.find_elements(By.CSS_SELECTOR, "a[rel=prev]")
    first_title = browser.find_element(By.CSS_SELECTOR, "table.products tbody a").text
    word = max(first_title.replace(",", " ").split(), key=len)

    search_box = browser.find_element(By.NAME, "q")
    search_box.send_keys(word)
    search_box.submit()
    wait_for_text(browser, f"Search: “{word}”")
    hits = browser.find_elements(By.CSS_SELECTOR, "table.products tbody a")
    assert any(word.lower() in hit.text.lower() for hit in hits)
    hits[0].click()
    wait_for_text(browser, "Add to cart")
    title = browser.find_element(By.TAG_NAME, "h1").text
    price = browser.find_element(By.CSS_SELECTOR, ".price").text

    quantity = browser.find_element(By.NAME, "quantity")
    quantity.clear()
    quantity.send_keys("2")
    browser.find_element(By.XPATH, "//button[text()='Add to cart']").click()
    wait_for_text(browser, "Added to your cart.")
    assert title in browser.find_element(By.CSS_SELECTOR, "table.products").text
    total = browser.find_element(By.ID, "cart-total").text
    assert float(total.lstrip("$")) == pytest.approx(2 * float(price.lstrip("$")))

    browser.find_element(By.LINK_TEXT, "Check out").click()
    browser.find_element(By.XPATH, "//button[text()='Place order']").click()  # empty form first
    wait_for_text(browser, "Please correct the marked fields.")
    assert len(browser.find_elements(By.CSS_SELECTOR, "form.checkout .error")) >= 4
    for field in ("name", "address", "city", "zip"):
        browser.find_element(By.NAME, field).send_keys(SHIPPING[field])
    Select(browser.find_element(By.NAME, "state")).select_by_visible_text(SHIPPING["state"])
    browser.find_element(By.XPATH, "//button[text()='Place order']").click()
    wait_for_text(browser, "Thank you")
    order_heading = browser.find_element(By.TAG_NAME, "h1").text  # "Order #123 pending"
    shot(browser, "order-confirmation")

    browser.find_element(By.LINK_TEXT, "Orders").click()
    wait_for_text(browser, "Your orders")
    order_id = order_heading.split()[1]
    assert order_id in browser.find_element(By.CSS_SELECTOR, "table.products").text
    browser.find_element(By.LINK_TEXT, "Cart").click()
    wait_for_text(browser, "Your cart is empty")
    browser.get(live_server.url + "/")
    assert shot(browser, "home").stat().st_size > 10_000
