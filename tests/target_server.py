"""A local HTTP server that http-request actions call in tests and benchmarks."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.polling import eventually_sync


@dataclass(frozen=True)
class Received:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class TargetServer:
    """Endpoints: /ok, /status/{code}, /flaky/{key}?fail=N, /slow?ms=N, /redirect-to?url=U,
    /canned/{name} (a body registered with `can`), /echo (answers JSON of what it received);
    counts hits per path and records each request's headers (in `requests`) and the whole
    request (in `received`)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.hits: Counter[str] = Counter()
        self.methods: list[str] = []
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers)
        self.received: list[Received] = []
        self._failures_left: dict[str, int] = {}
        self._canned: dict[str, tuple[bytes, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self.host = host
        self.port = port or _free_port(host)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self._app(),
                host=host,
                port=self.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TargetServer:
        self._thread.start()
        eventually_sync(lambda: self._server.started, timeout_s=10, what="target server")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def can(self, name: str, body: bytes, headers: dict[str, str]) -> str:
        """Serve `body` as is (e.g. already gzip-ed) with `headers` at /canned/{name}."""
        self._canned[name] = (body, headers)
        return f"{self.url}/canned/{name}"

    def _count(self, request: Request) -> None:
        with self._lock:
            self.hits[request.url.path] += 1
            self.methods.append(request.method)
            self.requests.append((request.url.path, dict(request.headers)))

    async def _record(self, request: Request) -> Received:
        received = Received(
            method=request.method, path=request.url.path, query=dict(request.query_params),
            headers=dict(request.headers), body=await request.body(),
        )
        with self._lock:
            self.received.append(received)
        return received

    def received_at(self, path: str) -> list[Received]:
        """The requests received at `path`, in order."""
        with self._lock:
            return [r for r in self.received if r.path == path]

    def _app(self) -> Starlette:
        async def ok(request: Request) -> PlainTextResponse:
            self._count(request)
            await self._record(request)
            return PlainTextResponse("hello from the target server")

        async def echo(request: Request) -> JSONResponse:
            self._count(request)
            got = await self._record(request)
            return JSONResponse({
                "method": got.method, "query": got.query, "headers": got.headers,
                "body": got.body.decode(errors="replace"),
            })

        async def status(request: Request) -> PlainTextResponse:
            self._count(request)
            await self._record(request)
            code = int(request.path_params["code"])
            return PlainTextResponse(f"status {code}", status_code=code)

        async def flaky(request: Request) -> PlainTextResponse:
            self._count(request)
            await self._record(request)
            key = request.path_params["key"]
            with self._lock:
                left = self._failures_left.setdefault(key, int(request.query_params["fail"]))
                self._failures_left[key] = max(0, left - 1)
            if left > 0:
                return PlainTextResponse("not yet", status_code=503)
            return PlainTextResponse("finally")

        async def slow(request: Request) -> PlainTextResponse:
            self._count(request)
            await asyncio.sleep(int(request.query_params.get("ms", "1000")) / 1000)
            return PlainTextResponse("slow answer")

        async def canned(request: Request) -> Response:
            self._count(request)
            body, headers = self._canned[request.path_params["name"]]
            return Response(body, headers=headers, media_type="application/octet-stream")

        async def redirect_to(request: Request) -> Response:
            self._count(request)
            return RedirectResponse(request.query_params["url"], status_code=302)

        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(
            routes=[
                Route("/ok", ok, methods=methods),
                Route("/echo", echo, methods=methods),
                Route("/status/{code:int}", status, methods=methods),
                Route("/flaky/{key}", flaky, methods=methods),
                Route("/slow", slow, methods=methods),
                Route("/redirect-to", redirect_to, methods=methods),
                Route("/canned/{name}", canned, methods=methods),
            ]
        )


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
