"""The workflows_svc REST API as the CLI uses it, over httpx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from wfa.errors import ApiError, CliError, api_error, transport_error

Json = dict[str, Any]
DEFAULT_URL = "http://127.0.0.1:8081"


def _seg(value: str) -> str:
    return quote(value, safe="")


class Api:
    """One client per command; every error surfaces as a `CliError`."""

    def __init__(
        self, base_url: str = DEFAULT_URL, api_key: str | None = None, *,
        timeout_s: float = 15.0, transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.has_key = bool(api_key)
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send; an error status or a transport failure raises a `CliError`."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.base_url) from None
        if response.status_code >= 400:
            raise api_error(response, has_key=self.has_key)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Json:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise CliError(f"{method} {path}: the answer is not JSON") from None
        return body if isinstance(body, dict) else {"items": body}

    # ---------------------------------------------------------------- workflows

    def workflows(self, page_size: int = 200) -> Iterator[Json]:
        """Every workflow, following the pages."""
        return self._pages("/workflows", {"limit": str(page_size)})

    def workflow(self, workflow_id: str) -> Json:
        return self.json("GET", f"/workflows/{_seg(workflow_id)}")

    def find_workflow(self, workflow_id: str) -> Json | None:
        """The workflow, or None when the server has no such workflow."""
        try:
            return self.workflow(workflow_id)
        except ApiError as exc:
            if exc.status_code == 404 and not exc.route_missing:
                return None
            raise

    def create(self, body: Json) -> Json:
        return self.json("POST", "/workflows", json=body)

    def replace(self, workflow_id: str, body: Json) -> Json:
        return self.json("PUT", f"/workflows/{_seg(workflow_id)}", json=body)

    def archive(self, workflow_id: str) -> Json:
        return self.json("DELETE", f"/workflows/{_seg(workflow_id)}")

    def trigger(self, workflow_id: str, inputs: Json | None) -> Json:
        body = {"input": inputs} if inputs else None
        return self.json("POST", f"/workflows/{_seg(workflow_id)}/trigger", json=body)

    def lifecycle(self, workflow_id: str, verb: str) -> Json:
        """`pause` or `resume` (SPEC 12)."""
        return self.json("POST", f"/workflows/{_seg(workflow_id)}/{verb}")

    def create_fields(self) -> set[str]:
        """The fields this server's POST /workflows body accepts, from its OpenAPI schema."""
        schema = self.json("GET", "/openapi.json")
        create = schema.get("components", {}).get("schemas", {}).get("WorkflowCreate", {})
        return set(create.get("properties", {}))

    # ---------------------------------------------------------------- executions

    def executions(
        self, workflow_id: str, *, status: str | None = None, limit: int | None = None
    ) -> Iterator[Json]:
        """The workflow's executions, newest first, at most `limit` of them."""
        params = {"limit": str(min(limit or 200, 200))}
        if status:
            params["status"] = status
        found = self._pages(f"/workflows/{_seg(workflow_id)}/executions", params)
        for count, item in enumerate(found, start=1):
            yield item
            if limit is not None and count >= limit:
                return

    def execution(self, execution_id: str) -> Json:
        return self.json("GET", f"/executions/{_seg(execution_id)}")

    def execution_verb(self, execution_id: str, verb: str, body: Json | None = None) -> Json:
        """`retry` or `cancel` (SPEC 12)."""
        return self.json("POST", f"/executions/{_seg(execution_id)}/{verb}", json=body)

    def signal(self, execution_id: str, signal: str, payload: Any) -> Json:
        path = f"/executions/{_seg(execution_id)}/signals/{_seg(signal)}"
        return self.json("POST", path, json=payload)

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[Json]:
        params = dict(params)
        while True:
            page = self.json("GET", path, params=params)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return
            params["cursor"] = cursor
