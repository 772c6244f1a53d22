"""Read endpoints over the live stack: executions, pagination, OpenAPI and docs."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.helpers import create_workflow, log_action, run_once, unique_id, workflow

pytestmark = pytest.mark.e2e


async def test_get_execution_by_id(client: httpx.AsyncClient) -> None:
    workflow_id = unique_id("e2e-read")
    listed = await run_once(client, workflow_id, [log_action("read me")])

    response = await client.get(f"/executions/{listed['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == listed
    assert "_id" not in response.json()

    missing = await client.get(f"/executions/{unique_id('no-such-execution')}")
    assert missing.status_code == 404
    assert "error" in missing.json()


async def test_workflow_list_pages_through_everything(client: httpx.AsyncClient) -> None:
    prefix = unique_id("e2e-page")
    mine = [f"{prefix}-{i}" for i in range(5)]
    for workflow_id in mine:
        await create_workflow(client, workflow_id, [log_action("paged")])

    seen: list[str] = []
    cursors = 0
    params: dict[str, str] = {"limit": "2"}
    while True:
        response = await client.get("/workflows", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen.extend(item["workflow_id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        cursors += 1
        params["cursor"] = page["next_cursor"]

    assert cursors >= 2
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert [w for w in seen if w.startswith(prefix)] == mine
    assert (await workflow(client, mine[0]))["status"] == "active"

    bad = await client.get("/workflows", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    schema = await client.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/workflows", "/workflows/{workflow_id}", "/workflows/{workflow_id}/trigger",
                 "/workflows/{workflow_id}/executions", "/executions/{execution_id}"):
        assert path in paths, sorted(paths)

    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text
