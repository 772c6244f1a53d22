"""What the browser tests do with the dashboard, in the words of its pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.alert import Alert
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
T = TypeVar("T")


class Dashboard:
    """The dashboard at `<api>/ui`, driven through a Selenium Chrome session."""

    def __init__(self, driver: webdriver.Chrome, api: str) -> None:
        self.driver = driver
        self.api = api

    def open(self, fragment: str = "#/") -> None:
        self.driver.get(f"{self.api}/ui{fragment}")

    def open_workflow(self, workflow_id: str) -> None:
        self.open(f"#/workflows/{quote(workflow_id, safe='')}")

    def open_execution(self, execution_id: str) -> None:
        self.open(f"#/executions/{quote(execution_id, safe='')}")

    def until(self, probe: Callable[[], T | None], what: str, timeout_s: float = 20.0) -> T:
        """Poll `probe` (stale or missing elements count as not yet) until truthy."""

        def attempt(_: object) -> T | None:
            try:
                return probe()
            except (NoSuchElementException, StaleElementReferenceException):
                return None

        wait = WebDriverWait(self.driver, timeout_s, poll_frequency=0.1)
        found = wait.until(attempt, f"timed out after {timeout_s}s waiting for {what}")
        assert found is not None  # until() returns only a truthy value
        return found

    def attribute(self, css: str, name: str, what: str, timeout_s: float = 20.0) -> str:
        """Wait for an element at `css` and read its `name` attribute in the same poll.

        The dashboard re-renders on every poll, so an element found earlier can be
        stale by the time it is read; finding and reading together avoids that.
        """
        value: str = self.until(lambda: self.find(css).get_attribute(name), what, timeout_s)
        return value

    def alert(self, timeout_s: float = 10.0) -> Alert:
        wait = WebDriverWait(self.driver, timeout_s, poll_frequency=0.1)
        alert: Alert = wait.until(expected_conditions.alert_is_present(), "no confirmation")
        return alert

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def shows(self, css: str, text: str, timeout_s: float = 20.0) -> str:
        """Wait until the element at `css` contains `text`; its whole text."""

        def probe() -> str | None:
            shown = self.text(css)
            return shown if text in shown else None

        shown: str = self.until(probe, f"{text!r} in {css}", timeout_s)
        return shown

    def click(self, css: str) -> None:
        self.until(lambda: self.find(css).is_displayed() and self.find(css).is_enabled(),
                   f"{css} shown and enabled")
        self.find(css).click()

    def choose(self, css: str, label: str) -> None:
        """Pick the option shown as `label` in the <select> at `css`."""
        Select(self.find(css)).select_by_visible_text(label)

    def type_into(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def active_id(self) -> str:
        return str(self.driver.switch_to.active_element.get_attribute("id") or "")

    def horizontal_overflow_px(self) -> int:
        """How far the page is wider than the viewport (0: no horizontal scroll)."""
        return int(self.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"))

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
        })

    def screenshot(self, name: str) -> Path:
        """The whole page as docs/screenshots/<name>.png (the README shows them)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        height = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
        width = int(self.driver.execute_script("return window.innerWidth"))
        self.viewport(width, min(max(height, 600), 2400))
        path = SCREENSHOTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"screenshot {path} not written"
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return path
