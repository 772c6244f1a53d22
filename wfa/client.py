"""The workflows_svc REST API as the CLI uses it, over httpx."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from wfa.errors import ApiError, CliError, api_error, transport_error

Json = dict[str, Any]
DEFAULT_URL = "http://127.0.0.1:8081"
SHED_RETRIES = 3            # a shed request (503 + Retry-After) is sent again this many times
MAX_RETRY_AFTER_S = 10.0    # never wait longer than this for one retry


def _seg(value: str) -> str:
    return quote(value, safe="")


def shed_retry_after_s(response: httpx.Response) -> float | None:
    """Seconds to wait before sending again, if the server shed this request (503 with a
    numeric Retry-After); None for any other answer."""
    after = response.headers.get("retry-after", "")
    if response.status_code != 503 or not after.strip().isdigit():
        return None
    return min(float(after), MAX_RETRY_AFTER_S)


class Api:
    """One client per command; every error surfaces as a `CliError`."""

    def __init__(
        self, base_url: str = DEFAULT_URL, api_key: str | None = None, *,
        timeout_s: float = 15.0, transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sleep = sleep
        self.has_key = bool(api_key)
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send; an error status or a transport failure raises a `CliError`.

        A request the server shed (503 with Retry-After: it stored nothing) is sent again
        after the time it names, up to SHED_RETRIES times."""
        for attempt in range(SHED_RETRIES + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise transport_error(exc, self.base_url) from None
            wait_s = shed_retry_after_s(response)
            if wait_s is None or attempt == SHED_RETRIES:
                break
            self._sleep(wait_s)
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
