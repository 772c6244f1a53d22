"""What the cluster tests measure around each fault: every API answer (status, latency), and
when executions flowed again, from the executions' own timestamps."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from tests.cluster.cluster import Fault
from tests.fault.load import Db

HANG_S = 20.0  # an API call without an answer after this long counts as a hang
ALLOWED = {200, 201, 204, 409, 503}  # every other status during a failover is a defect


@dataclass
class Answer:
    at: float  # monotonic, when the answer (or the failure) came
    what: str  # "POST /workflows/{id}/trigger", ...
    status: int  # 0: no answer (transport error or timeout)
    seconds: float
    error: str = ""


@dataclass
class Recorder:
    """Every API answer any client of the test got, in order."""

    answers: list[Answer] = field(default_factory=list)

    def add(self, what: str, status: int, began: float, error: str = "") -> None:
        now = time.monotonic()
        self.answers.append(Answer(now, what, status, now - began, error))

    def problems(self) -> list[str]:
        """Answers that are neither a success, a conflict nor a 503, and hangs."""
        found = []
        for a in self.answers:
            if a.status not in ALLOWED:
                found.append(f"{a.what}: {a.status or a.error} after {a.seconds:.1f}s")
            elif a.seconds > HANG_S:
                found.append(f"{a.what}: answered {a.status} only after {a.seconds:.1f}s")
        return found

    def codes(self) -> dict[str, int]:
        return dict(Counter(str(a.status or a.error) for a in self.answers))


def _kind(request: httpx.Request) -> str:
    parts = request.url.path.strip("/").split("/")
    shape = "/".join("{id}" if i == 1 else p for i, p in enumerate(parts))
    return f"{request.method} /{shape}"


@contextlib.asynccontextmanager
async def recorded_client(base_url: str, recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    """An API client whose every answer (and every request left without one) is recorded."""

    async def on_request(request: httpx.Request) -> None:
        request.extensions["began"] = time.monotonic()

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        recorder.add(_kind(request), response.status_code, request.extensions["began"])

    # An idle connection is dropped well before uvicorn's keep-alive timeout (5 s), so that
    # no request is sent on a connection the server is closing at that moment (ReadError).
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=2)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=HANG_S + 5, limits=limits,
        event_hooks={"request": [on_request], "response": [on_response]},
    ) as client:
        yield client


class Prober:
    """Every 0.25 s: one read (GET a workflow) and one write (create a workflow), each with its
    answer and latency recorded, so that a failover's 503s and any hang are seen even where
    the trigger load happens to be idle."""

    def __init__(self, client: httpx.AsyncClient, recorder: Recorder, workflow_id: str) -> None:
        self._client = client
        self._recorder = recorder
        self._workflow_id = workflow_id
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Prober:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _call(self, what: str, method: str, path: str, **kwargs: Any) -> None:
        began = time.monotonic()
        try:
            await self._client.request(method, path, **kwargs)  # recorded by the hook
        except httpx.HTTPError as exc:
            self._recorder.add(what, 0, began, type(exc).__name__)

    async def _run(self) -> None:
        while not self._stop.is_set():
            body = {"workflowId": f"probe-{uuid.uuid4().hex[:10]}", "trigger": {"type": "manual"},
                    "actions": [{"type": "log", "message": "probe"}]}
            await asyncio.gather(
                self._call("GET /workflows/{id}", "GET", f"/workflows/{self._workflow_id}"),
                self._call("POST /workflows", "POST", "/workflows", json=body),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.25)  # probe interval


@dataclass
class Figures:
    fault: str
    member: str
    first_503_s: float | None  # fault -> first and last 503 answer (None: no 503)
    last_503_s: float | None
    answers_503: int
    first_new_done_s: float | None  # fault -> first execution created after it finished
    longest_pause_s: float  # longest gap between two finished executions around the fault
    max_answer_s: float
    slowest: list[str] = field(default_factory=list)  # the slowest answers, for the record

    def line(self) -> str:
        first = "-" if self.first_new_done_s is None else f"{self.first_new_done_s:.1f}s"
        refused = ("no 503" if self.last_503_s is None else
                   f"503s from +{self.first_503_s:.1f}s to +{self.last_503_s:.1f}s "
                   f"({self.answers_503} answers)")
        return (f"{self.fault} of {self.member}: {refused}, slowest answer "
                f"{self.max_answer_s:.1f}s; "
                f"first execution triggered after the fault done after {first}; longest "
                f"pause in finished executions {self.longest_pause_s:.1f}s")

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in vars(self).items()}


async def figures(
    fault: Fault, until: float, recorder: Recorder, db: Db, ids: list[str]
) -> Figures:
    """The figures of `fault`, from its injection until `until` (monotonic)."""
    window = [a for a in recorder.answers if fault.at <= a.at < until]
    refused = [a.at - fault.at for a in window if a.status == 503]
    until_utc = fault.at_utc.timestamp() + (until - fault.at)
    created_after = db.executions.find(
        {"workflow_id": {"$in": ids}, "created_at": {"$gte": fault.at_utc},
         "finished_at": {"$ne": None}}, {"_id": 0, "finished_at": 1},
    ).sort("finished_at", 1).limit(1)
    first = [d["finished_at"] async for d in created_after]
    finished = sorted([
        d["finished_at"].timestamp() async for d in db.executions.find(
            {"workflow_id": {"$in": ids}, "finished_at": {"$ne": None}},
            {"_id": 0, "finished_at": 1})
    ])
    around = [fault.at_utc.timestamp()] + [t for t in finished if fault.at_utc.timestamp() <= t
                                           <= until_utc]
    before = [t for t in finished if t < fault.at_utc.timestamp()]
    if before:
        around[0] = before[-1]
    gaps = [b - a for a, b in zip(around, around[1:], strict=False)]
    return Figures(
        fault=fault.kind, member=fault.member,
        first_503_s=min(refused) if refused else None,
        last_503_s=max(refused) if refused else None,
        answers_503=len(refused),
        first_new_done_s=(_ts(first[0]) - fault.at_utc.timestamp()) if first else None,
        longest_pause_s=max(gaps, default=0.0),
        max_answer_s=max((a.seconds for a in window), default=0.0),
        slowest=[f"{a.what} {a.status or a.error} {a.seconds:.1f}s at +{a.at - fault.at:.1f}s"
                 for a in sorted(window, key=lambda a: -a.seconds)[:3]],
    )


def _ts(value: datetime) -> float:
    return value.timestamp()
