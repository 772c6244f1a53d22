"""Browser fixtures: a real stack, and headless Chromium from Debian's packages via Selenium.

Chromium and chromedriver are found on PATH (or at CHROMIUM_BIN / CHROMEDRIVER); missing, the
tests fail: `./dev.sh test` installs them (apt-get install chromium chromium-driver).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import partial

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.browser.pages import Dashboard
from tests.e2e.stacks import LIVE_STACKS, StartStack, running_stack
from tests.harness import Stack
from tests.stack_fixtures import stack_logs_hook
from tests.stack_fixtures import target as target  # the session's target server

pytest_runtest_makereport = stack_logs_hook(LIVE_STACKS)
DESKTOP = (1280, 900)


def _tool(env: str, name: str) -> str:
    path = os.environ.get(env) or shutil.which(name)
    if not path:
        pytest.fail(
            f"{name} not found (PATH or ${env}): the browser tests need Debian's chromium and "
            "chromium-driver; ./dev.sh test installs them, or: apt-get install -y chromium "
            "chromium-driver",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """(chromium, chromedriver): the system's, never a downloaded browser."""
    return _tool("CHROMIUM_BIN", "chromium"), _tool("CHROMEDRIVER", "chromedriver")


@pytest.fixture
def driver(chromium_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium per test (its own session storage)."""
    browser, chromedriver = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={DESKTOP[0]},{DESKTOP[1]}", "--lang=en-GB"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="session")
def start_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mongo_url: str,
    kafka_url: str,
) -> StartStack:
    return partial(running_stack, request, tmp_path_factory, mongo_url, kafka_url)


@pytest.fixture(scope="session")
def stack(start_stack: StartStack) -> Iterator[Stack]:
    """The browser tier's stack (fast retries, no trigger rate limit, no API key)."""
    with start_stack(label="browser") as s:
        yield s


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    """The API, for creating fixtures only: what the tests check, they check in the browser."""
    with httpx.Client(base_url=stack.api, timeout=15) as client:
        yield client


@pytest.fixture
def dashboard(driver: webdriver.Chrome, stack: Stack) -> Dashboard:
    return Dashboard(driver, stack.api)
