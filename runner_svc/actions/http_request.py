"""The `http-request` kind's handler: calls the URL within the HTTP safety limits."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urljoin

import aiohttp

from runner_svc.actions.base import action_result
from runner_svc.actions.http.bounded_body import ACCEPT_ENCODING, read_capped
from runner_svc.actions.http.hop import parse_hop
from runner_svc.actions.http.outbound import Outbound, outbound
from runner_svc.actions.http.pinned_connector import (
    check_numeric_host,
    client_ssl_context,
    pinned_connector,
)
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
CLIENT_LOGGERS = ("aiohttp.client", "aiohttp.internal")  # aiohttp's client-side loggers
HEADERS = {"user-agent": "workflow-runner/1.0", "accept-encoding": ACCEPT_ENCODING}


class TooManyRedirects(Exception):
    """The redirect chain is longer than HTTP_MAX_REDIRECTS."""


class HttpRequestHandler:
    """Runs `http-request` actions with the timeout, body cap and redirect limit.

    It owns its HTTP client (an aiohttp session, made in the running loop on first use), whose
    every connection goes through the target policy (runner_svc.actions.http.pinned_connector):
    there is no way to call a URL around it.
    """

    def __init__(
        self, *, policy: TargetPolicy, timeout_s: float, max_response_bytes: int,
        max_redirects: int, verify: ssl.SSLContext | bool = True, max_connections: int = 200,
        max_recorded_bytes: int = 65_536,
    ) -> None:
        mask_library_logs(*CLIENT_LOGGERS)  # should they ever name a URL
        self._policy = policy
        self._ssl_context = client_ssl_context(verify)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
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
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=pinned_connector(self._policy, ssl_context=self._ssl_context,
                                           max_connections=self._max_connections),
                timeout=aiohttp.ClientTimeout(total=None, connect=self._timeout_s,
                                              sock_connect=self._timeout_s,
                                              sock_read=self._timeout_s),
                headers=HEADERS, auto_decompress=False, trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # no cookies carried between executions
            )
        return self._session

    async def run(self, action: HttpRequestAction, context: RunContext) -> ActionResult:
        try:
            request = outbound(action, context)
        except (TemplateError, ValueError) as exc:
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
        except (aiohttp.ClientError, TooManyRedirects, OSError, ValueError) as exc:
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
            hop = parse_hop(url)
            await check_numeric_host(self._policy, hop.host, hop.port)
            headers = dict(request.headers)
            if content is None:
                headers.pop("content-type", None)
            if hop.authorization:  # the URL's userinfo wins, as it did with httpx
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                headers["authorization"] = hop.authorization
            inject_http_headers(headers)  # traceparent, when tracing is on
            async with self._client().request(
                method, hop.url, headers=headers, data=content, allow_redirects=False
            ) as response:
                location = response.headers.get("location")
                if not follow or response.status not in REDIRECT_CODES or not location:
                    body = await read_capped(response.headers.get("content-encoding", ""),
                                             response.content.iter_any(), self._max_bytes)
                    if not response.content.at_eof():
                        response.close()  # stopped at the cap: this connection is not reused
                    return response.status, response.headers.get("content-type"), body
            url = urljoin(url, location)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, content = "GET", None
        raise TooManyRedirects(f"more than {self._max_redirects} redirects")
