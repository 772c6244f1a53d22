"""An http-request URL's credentials (`https://user:pass@host/`) are stored for the runner but
never answered: every definition answer shows `https://***@host/`."""

from __future__ import annotations

from typing import Any

import httpx

from shared.adapters.memory import InMemoryWorkflowRepository

SECRET_URL = "https://deploy:s3cr%40t@example.com/hooks/a@b?x=1"
SHOWN_URL = "https://***@example.com/hooks/a@b?x=1"
PLAIN_URL = "https://example.com/ok"


def body(workflow_id: str, *urls: str) -> dict[str, Any]:
    return {"workflowId": workflow_id, "trigger": {"type": "manual"},
            "actions": [{"type": "http-request", "url": u, "method": "GET"} for u in urls]}


def urls(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [a["url"] for a in answer.json()["actions"]]


async def test_definition_answers_mask_url_credentials(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository,
) -> None:
    assert (await api.post("/workflows", json=body("cred", SECRET_URL, PLAIN_URL))).status_code \
        == 201

    assert urls(await api.get("/workflows/cred")) == [SHOWN_URL, PLAIN_URL]
    [listed] = (await api.get("/workflows")).json()["items"]
    assert [a["url"] for a in listed["actions"]] == [SHOWN_URL, PLAIN_URL]
    put = await api.put("/workflows/cred", json=body("cred", PLAIN_URL, SECRET_URL))
    assert put.status_code == 200, put.text
    assert urls(await api.get("/workflows/cred/versions/1")) == [SHOWN_URL, PLAIN_URL]
    assert urls(await api.get("/workflows/cred/versions/2")) == [PLAIN_URL, SHOWN_URL]

    stored = await workflows.get("cred")
    assert stored is not None
    assert [getattr(a, "url", None) for a in stored.actions] == [PLAIN_URL, SECRET_URL], \
        "the runner still gets the credentials"
