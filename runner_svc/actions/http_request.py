"""The `http-request` kind's handler: calls the URL within the HTTP safety limits."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urljoin

import httpx

from runner_svc.actions.base import action_result
from runner_svc.actions.http.bounded_body import ACCEPT_ENCODING, read_capped
from runner_svc.actions.http.outbound import Outbound, outbound
from runner_svc.actions.http.pinned_transport import PinnedTransport
from runner_svc.actions.http.recorded import recorded_response
from runner_svc.actions.http.target_policy import DeniedTarget, TargetPolicy
from shared.actions import HttpRequestAction
from shared.domain.models import ActionResult
from shared.domain.run_context import RunContext
from shared.domain.templating import TemplateError
from shared.infra.logs import get_logger
from shared.infra.redact import mask_credentials, mask_library_logs
from shared.infra.settings import Settings
from shared.infra.tracing import inject_http_headers

log = get_logger(__name__)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
BODY_PREVIEW_CHARS = 50


class HttpRequestHandler:
    """Runs `http-request` actions with the timeout, body cap and redirect limit.

    It owns its HTTP client, whose every connection goes through the target policy
    (runner_svc.actions.http.pinned_transport): there is no way to call a URL around it.
    """

    def __init__(
        self, *, policy: TargetPolicy, timeout_s: float, max_response_bytes: int,
        max_redirects: int, verify: ssl.SSLContext | bool = True, max_connections: int = 200,
        max_recorded_bytes: int = 65_536,
    ) -> None:
        mask_library_logs("httpx")  # its INFO line names each request's URL
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=50)
        self._client = httpx.AsyncClient(
            transport=PinnedTransport(policy, limits=limits, verify=verify),
            timeout=httpx.Timeout(timeout_s), trust_env=False,
            headers={"user-agent": "workflow-runner/1.0", "accept-encoding": ACCEPT_ENCODING},
        )
        self._timeout_s = timeout_s
        self._max_bytes = max_response_bytes
        self._max_redirects = max_redirects
        self._max_recorded_bytes = max_recorded_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpRequestHandler:
        return cls(
            policy=TargetPolicy(settings.deny_networks(), settings.allow_networks()),
            timeout_s=settings.http_timeout_s,
            max_response_bytes=settings.http_max_response_bytes,
            max_redirects=settings.http_max_redirects,
            max_recorded_bytes=settings.http_max_recorded_bytes,
        )

    async def __aenter__(self) -> HttpRequestHandler:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run(self, action: HttpRequestAction, context: RunContext) -> ActionResult:
        try:
            request = outbound(action, context)
        except (TemplateError, httpx.InvalidURL) as exc:
            return action_result(action, False, f"{action.url} [STATUS 500] => {exc}")
        url = request.url
        shown = context.mask(url)
        timeout_s = min(action.timeout_s or self._timeout_s, self._timeout_s)
        try:
            async with asyncio.timeout(timeout_s):
                answer = await self._follow(request, action.follow_redirects)
        except DeniedTarget as exc:
            log.warning("http target denied", url=mask_credentials(shown), reason=str(exc))
            return action_result(action, False, f"{shown} [STATUS 500] => denied: {exc}")
        except TimeoutError:
            return action_result(action, False, f"{shown} [STATUS 500] => timed out after "
                                                f"{timeout_s:g}s")
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            return action_result(action, False, f"{shown} [STATUS 500] => {reason[:200]}")
        status, content_type, body = answer
        head = body[: BODY_PREVIEW_CHARS * 4]  # 50 characters are at most 200 UTF-8 bytes
        preview = head.decode("utf-8", errors="replace")[:BODY_PREVIEW_CHARS]
        response = recorded_response(
            status, content_type, body, max_bytes=self._max_recorded_bytes,
            complete=len(body) < self._max_bytes,
        )
        return action_result(
            action, action.expects(status), f"{shown} [STATUS {status}] => {preview}", response
        )

    async def _follow(self, request: Outbound, follow: bool) -> tuple[int, str | None, bytes]:
        method, url, content = request.method, request.url, request.content
        for _ in range(self._max_redirects + 1):
            headers = dict(request.headers)
            if content is None:
                headers.pop("content-type", None)
            inject_http_headers(headers)  # traceparent, when tracing is on
            async with self._client.stream(
                method, url, headers=headers, content=content, follow_redirects=False
            ) as response:
                location = response.headers.get("location")
                if not follow or response.status_code not in REDIRECT_CODES or not location:
                    body = await read_capped(response, self._max_bytes)
                    return response.status_code, response.headers.get("content-type"), body
            url = urljoin(url, location)
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, content = "GET", None
        raise httpx.TooManyRedirects(f"more than {self._max_redirects} redirects")
