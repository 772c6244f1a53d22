"""The dashboard's API-key prompt, and a phone-sized screen."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pymongo
import pytest
from selenium import webdriver

from tests.browser.pages import Dashboard
from tests.harness import Stack

pytestmark = pytest.mark.browser
KEY = "ui-secret-key"


@pytest.fixture
def keyed_api(
    tmp_path_factory: pytest.TempPathFactory, mongo_url: str, kafka_url: str
) -> Iterator[str]:
    """A workflows_svc of its own with API_KEY set (the page is all this test needs)."""
    stack = Stack(mongo_url, kafka_url, workdir=tmp_path_factory.mktemp("ui-key"),
                  env={"API_KEY": KEY})
    try:
        stack.add("workflows_svc")
        yield stack.api
    finally:
        stack.stop()
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_url)
        with contextlib.suppress(pymongo.errors.PyMongoError), client:
            client.drop_database(stack.database_name)


def test_the_page_asks_for_the_key_once_and_says_when_it_is_wrong(
    driver: webdriver.Chrome, keyed_api: str
) -> None:
    workflow_id = f"ui-keyed-{uuid.uuid4().hex[:8]}"
    body = {"workflowId": workflow_id, "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "hi"}]}
    created = httpx.post(f"{keyed_api}/workflows", json=body, headers={"X-API-Key": KEY})
    assert created.status_code == 201, created.text

    page = Dashboard(driver, keyed_api)
    page.open()
    dialog = page.find("#key-dialog")
    page.until(dialog.is_displayed, "the key prompt")
    assert "needs an API key" in page.text("#key-message")
    assert page.active_id() == "api-key"

    page.type_into("#api-key", "not-the-key")
    page.click("#key-submit")
    page.shows("#key-message", "Wrong API key")
    assert dialog.is_displayed()
    assert workflow_id not in page.text("main")

    page.type_into("#api-key", KEY)
    page.click("#key-submit")
    page.shows("#workflows", workflow_id)
    assert not dialog.is_displayed()

    page.driver.refresh()  # the same browser session: no second prompt
    page.shows("#workflows", workflow_id)
    assert not page.find("#key-dialog").is_displayed()
    assert page.find("#forget-key").is_displayed()


def test_every_page_fits_a_390_px_screen(dashboard: Dashboard, api: httpx.Client) -> None:
    workflow_id = f"ui-a-rather-long-workflow-name-for-a-narrow-screen-{uuid.uuid4().hex[:8]}"
    body = {"workflowId": workflow_id, "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "a long log line " * 12},
                        {"type": "log", "message": "done"}]}
    assert api.post("/workflows", json=body).status_code == 201
    assert api.post(f"/workflows/{workflow_id}/trigger").status_code == 200

    dashboard.viewport(390, 844, mobile=True)
    dashboard.open()
    dashboard.shows("#workflows", workflow_id)
    assert dashboard.horizontal_overflow_px() == 0, "the list scrolls sideways"

    dashboard.open_workflow(workflow_id)
    execution_id = dashboard.attribute(
        "#executions tr[data-status='ok']", "data-execution", "the execution ok")
    dashboard.until(lambda: dashboard.all("svg.graph g.node"), "the graph")
    assert dashboard.horizontal_overflow_px() == 0, "the workflow page scrolls sideways"
    assert dashboard.find("#trigger").size["width"] <= 390

    dashboard.open_execution(execution_id)
    dashboard.shows("#timeline", "a long log line")
    assert dashboard.horizontal_overflow_px() == 0, "the execution page scrolls sideways"
