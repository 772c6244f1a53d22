"""HttpRequestHandler: http-request actions against a real local HTTP server."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from runner_svc.actions.http.target_policy import Network, TargetPolicy
from runner_svc.actions.http_request import HttpRequestHandler
from shared.actions import HttpRequestAction
from shared.domain.models import ActionResult, ActionResultStatus
from shared.domain.run_context import RunContext
from tests.polling import eventually_sync

BOUND_S = 20.0  # an action that must end does so well within this
BODY = "".join(f"{n:02d}" for n in range(100))  # 200 chars, its first 50 easy to spot
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
DEFAULT_DENY = [ipaddress.ip_network("169.254.0.0/16")]


@dataclass
class LocalServer:
    """A uvicorn server in a thread on 127.0.0.1, on a port the OS picked."""

    hits: Counter[str] = field(default_factory=Counter)
    methods: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def app(self) -> Starlette:
        def count(request: Request) -> None:
            self.hits[request.url.path] += 1
            self.methods.append((request.url.path, request.method))

        async def ok(request: Request) -> Response:
            count(request)
            return PlainTextResponse(BODY)

        async def status(request: Request) -> Response:
            count(request)
            return PlainTextResponse(f"status {request.path_params['code']} " + BODY,
                                     status_code=int(request.path_params["code"]))

        async def slow(request: Request) -> Response:
            count(request)
            await asyncio.sleep(3)  # a server slower than the action's timeout
            return PlainTextResponse("late")

        async def endless(request: Request) -> Response:
            count(request)

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(16_384):  # 1 GiB: endless as far as the action can tell
                    if await request.is_disconnected():
                        return
                    yield b"e" * 65_536

            return StreamingResponse(chunks(), media_type="application/octet-stream")

        async def redirect(request: Request) -> Response:
            count(request)
            left = int(request.path_params["left"])
            if left == 0:
                return PlainTextResponse("arrived " + BODY)
            return RedirectResponse(f"/redirect/{left - 1}", status_code=302)

        async def redirect_to(request: Request) -> Response:
            count(request)
            return RedirectResponse(request.query_params["url"], status_code=302)

        async def echo(request: Request) -> Response:
            count(request)
            return PlainTextResponse(f"method={request.method}")

        return Starlette(routes=[
            Route("/ok", ok, methods=METHODS),
            Route("/status/{code:int}", status, methods=METHODS),
            Route("/slow", slow),
            Route("/endless", endless),
            Route("/redirect/{left:int}", redirect),
            Route("/redirect-to", redirect_to),
            Route("/echo", echo, methods=METHODS),
        ])


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    local.port = sock.getsockname()[1]
    config = uvicorn.Config(local.app(), log_config=None, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=1)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    eventually_sync(lambda: uv.started, timeout_s=BOUND_S, what="local HTTP server")
    yield local
    uv.should_exit = True
    thread.join(timeout=BOUND_S)
    sock.close()


class RunHttp(Protocol):
    async def __call__(self, url: str, method: str = "GET", *, timeout_s: float = 5.0,
                       max_response_bytes: int = 1_048_576, max_redirects: int = 5,
                       deny: list[Network] | None = None) -> ActionResult: ...


@pytest_asyncio.fixture
async def run_http() -> AsyncIterator[RunHttp]:
    """run_http(url, method="GET", **runner_limits) -> the action's result, bounded in time."""

    async def run(
        url: str, method: str = "GET", *, timeout_s: float = 5.0,
        max_response_bytes: int = 1_048_576, max_redirects: int = 5,
        deny: list[Network] | None = None,
    ) -> ActionResult:
        async with HttpRequestHandler(
            policy=TargetPolicy(DEFAULT_DENY if deny is None else deny),
            timeout_s=timeout_s, max_response_bytes=max_response_bytes,
            max_redirects=max_redirects,
        ) as runner:
            action = HttpRequestAction(action_id=7, url=url, method=method)
            async with asyncio.timeout(BOUND_S):
                result = await runner.run(action, RunContext())
        assert result.action_id == 7
        return result

    yield run


OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED


async def test_get_200_is_ok_with_the_body_preview(server: LocalServer, run_http: RunHttp) -> None:
    url = server.url("/ok")

    result = await run_http(url)

    assert result.status == OK
    assert result.logs == f"{url} [STATUS 200] => {BODY[:50]}"


@pytest.mark.parametrize("code", [404, 500])
async def test_error_status_fails_with_that_status(
    server: LocalServer, run_http: RunHttp, code: int
) -> None:
    url = server.url(f"/status/{code}")

    result = await run_http(url)

    assert result.status == FAILED
    assert result.logs == f"{url} [STATUS {code}] => {f'status {code} {BODY}'[:50]}"


async def test_connection_refused_fails_as_status_500_with_the_reason(run_http: RunHttp) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/x"

    result = await run_http(url)

    assert result.status == FAILED
    prefix = f"{url} [STATUS 500] => "
    assert result.logs.startswith(prefix)
    assert result.logs[len(prefix):].strip()


async def test_read_timeout_fails(server: LocalServer, run_http: RunHttp) -> None:
    url = server.url("/slow")

    result = await run_http(url, timeout_s=0.5)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => ")
    assert "timed out" in result.logs
    assert server.hits["/slow"] >= 1


async def test_endless_response_reads_only_up_to_the_cap(
    server: LocalServer, run_http: RunHttp
) -> None:
    url = server.url("/endless")

    result = await run_http(url, max_response_bytes=100_000, timeout_s=BOUND_S / 2)

    assert result.status == OK  # completed: it stopped reading at the cap
    assert result.logs == f"{url} [STATUS 200] => {'e' * 50}"


async def test_redirects_followed_up_to_the_limit(server: LocalServer, run_http: RunHttp) -> None:
    within = await run_http(server.url("/redirect/3"), max_redirects=3)
    beyond = await run_http(server.url("/redirect/4"), max_redirects=3)

    assert within.status == OK
    assert within.logs == f"{server.url('/redirect/3')} [STATUS 200] => {('arrived ' + BODY)[:50]}"
    assert beyond.status == FAILED
    assert beyond.logs.startswith(f"{server.url('/redirect/4')} [STATUS 500] => ")
    assert "redirect" in beyond.logs
    assert server.hits["/redirect/0"] == 1  # reached once, by the chain within the limit


async def test_redirect_to_a_denied_address_fails(server: LocalServer, run_http: RunHttp) -> None:
    url = server.url("/redirect-to?url=http://169.254.169.254/latest/meta-data/")

    result = await run_http(url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => ")
    assert "denied" in result.logs
    assert server.hits["/redirect-to"] >= 1


async def test_deny_list_with_loopback_blocks_the_local_server(
    server: LocalServer, run_http: RunHttp
) -> None:
    before = server.hits["/echo"]
    url = server.url("/echo")

    result = await run_http(url, deny=[ipaddress.ip_network("127.0.0.0/8")])

    assert result.status == FAILED
    assert "denied" in result.logs
    assert server.hits["/echo"] == before


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_methods_reach_the_server(
    server: LocalServer, run_http: RunHttp, method: str
) -> None:
    url = server.url("/echo")

    result = await run_http(url, method)

    assert result.status == OK
    assert result.logs == f"{url} [STATUS 200] => method={method}"
    assert ("/echo", method) in server.methods
