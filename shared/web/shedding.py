"""Load shedding as pure ASGI middleware: a bound on the requests in flight.

Past the bound a request is answered at once with 503 `{"error": ...}` and `Retry-After`,
before routing, validation or any database work, so the requests already admitted keep
their latency instead of every request queueing without bound. The operations endpoints
(`/health`, `/ready`, `/metrics`) are never shed: an orchestrator must still see the
process alive and ready while it is busy.
"""

from __future__ import annotations

import json

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Receive, Scope, Send

NEVER_SHED = frozenset({"/health", "/ready", "/metrics"})

SHED = Counter("http_requests_shed_total", "Requests answered 503 because too many were in flight")
IN_FLIGHT = Gauge("http_requests_in_flight", "Requests being handled (the shedding bound's count)")


class LoadShedder:
    """Admit at most `max_in_flight` requests at once (0 = no bound); answer the rest 503."""

    def __init__(
        self, app: ASGIApp, *, max_in_flight: int, retry_after_s: int = 1,
        never_shed: frozenset[str] = NEVER_SHED,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.never_shed = never_shed
        self.in_flight = 0
        body = json.dumps({"error": "server overloaded, retry later"}).encode()
        self._body = body
        self._start = {
            "type": "http.response.start", "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(max(1, retry_after_s)).encode()),
            ],
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.max_in_flight <= 0
                or scope["path"] in self.never_shed):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            SHED.inc()
            await send(self._start)
            await send({"type": "http.response.body", "body": self._body})
            return
        self.in_flight += 1
        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            IN_FLIGHT.dec()
