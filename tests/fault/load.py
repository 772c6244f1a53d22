"""Load for the fault tests: many manual workflows, each triggered again only once idle.

A workflow is triggered again only after its previous run ended (in rounds over all of them,
or each on its own with `run_until`), so each accepted trigger (200) maps to exactly one
execution of its workflow even though the API does not return execution ids. A client that
gets no answer (or a 503) retries, as a real client would; such attempts are counted as
"maybe" executions, since the service may have claimed the workflow before it failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from tests.harness import Stack
from tests.polling import eventually

Json = dict[str, Any]
Db = AsyncDatabase[dict[str, Any]]
RETRY_BACKOFF_S = 0.25
MakeStack = Callable[..., Stack]
StartStack = Callable[..., Awaitable[tuple[Stack, Db]]]


@contextlib.asynccontextmanager
async def api_client(stack: Stack, *, timeout_s: float = 10.0) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=stack.api, timeout=timeout_s, limits=limits) as client:
        yield client


def slow_action(target_url: str, ms: int) -> Json:
    return {"type": "http-request", "url": f"{target_url}/slow?ms={ms}", "method": "GET"}


def ok_action(target_url: str) -> Json:
    return {"type": "http-request", "url": f"{target_url}/ok", "method": "GET"}


def new_ids(prefix: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"{prefix}-{run}-{i:04d}" for i in range(count)]


async def create_workflows(
    client: httpx.AsyncClient, ids: list[str], actions: list[Json], *,
    trigger: Json | None = None, concurrency: int = 32,
) -> None:
    """Create every workflow (each must answer 201)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(workflow_id: str) -> None:
        body = {"workflowId": workflow_id, "trigger": trigger or {"type": "manual"},
                "actions": actions}
        async with gate:
            response = await client.post("/workflows", json=body)
        assert response.status_code == 201, f"create {workflow_id}: {response.text}"

    await asyncio.gather(*(one(w) for w in ids))


async def create_ticking(client: httpx.AsyncClient, ids: list[str]) -> None:
    """Create periodic workflows that log "tick" every second."""
    await create_workflows(client, ids, [{"type": "log", "message": "tick"}],
                           trigger={"type": "periodic", "interval": "1s"})


@dataclass
class Owed:
    """Executions a workflow must have: `exact` certainly, up to `maybe` more."""

    exact: int = 0
    maybe: int = 0


@dataclass
class Ledger:
    """What the client saw: answers by kind, and what each workflow is owed."""

    owed: dict[str, Owed] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    rounds: int = 0

    @property
    def accepted(self) -> int:
        return self.answers["200"]

    @property
    def attempts(self) -> int:
        return sum(self.answers.values())


class TriggerLoad:
    """Rounds of one trigger per workflow, with bounded concurrency and client retries."""

    def __init__(
        self, client: httpx.AsyncClient, db: Db, ids: list[str], *, concurrency: int = 48,
        retry_for_s: float = 60.0, idle_timeout_s: float = 90.0,
        on_accepted: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.ids = ids
        self.ledger = Ledger(owed={w: Owed() for w in ids})
        self._gate = asyncio.Semaphore(concurrency)
        self._retry_for_s = retry_for_s
        self._idle_timeout_s = idle_timeout_s
        self._on_accepted = on_accepted

    async def trigger(self, workflow_id: str) -> None:
        """One round's trigger of one idle workflow, retried until it gets an answer."""
        owed, answers = self.ledger.owed[workflow_id], self.ledger.answers
        ambiguous = 0
        deadline = time.monotonic() + self._retry_for_s
        while True:
            try:
                async with self._gate:
                    response = await self.client.post(f"/workflows/{workflow_id}/trigger")
                code = response.status_code
            except (httpx.ConnectError, httpx.ConnectTimeout):
                # Never reached the service (it is down): nothing to account for.
                answers["refused"] += 1
                if time.monotonic() > deadline:
                    owed.maybe += ambiguous
                    return
                await asyncio.sleep(RETRY_BACKOFF_S)  # client retry backoff
                continue
            except httpx.TransportError as exc:
                code = 0  # sent, but no answer: the service may have acted on it
                answers[f"no answer ({type(exc).__name__})"] += 1
            if code:
                answers[str(code)] += 1
            if code == 200:
                owed.exact += 1
                owed.maybe += ambiguous
                if self._on_accepted is not None:
                    await self._on_accepted(workflow_id)
                return
            if code == 409 and ambiguous:
                # Idle when the round began: one of our unanswered attempts claimed it.
                owed.exact += 1
                owed.maybe += ambiguous - 1
                return
            if code not in (0, 503):
                self.ledger.unexpected.append(f"{workflow_id}: {code} {response.text[:200]}")
                owed.maybe += ambiguous
                return
            ambiguous += 1
            if time.monotonic() > deadline:
                owed.maybe += ambiguous
                return
            await asyncio.sleep(RETRY_BACKOFF_S)  # client retry backoff, not a synchronisation

    async def round(self) -> None:
        """Trigger every workflow once, then wait until all of them are idle again."""
        await asyncio.gather(*(self.trigger(w) for w in self.ids))
        self.ledger.rounds += 1
        await wait_idle(self.db, self.ids, timeout_s=self._idle_timeout_s)

    async def run(self, rounds: int) -> Ledger:
        for _ in range(rounds):
            await self.round()
        return self.ledger

    async def run_until(self, stop: asyncio.Event, *, per_workflow: int = 50) -> Ledger:
        """Continuous load: each workflow on its own triggers, waits until it is idle again,
        and repeats, so that some trigger is under way whatever the system is going
        through. Once `stop` is set, every workflow's current run completes."""
        waiting: dict[str, asyncio.Event] = {}
        done = asyncio.Event()

        async def one(workflow_id: str) -> None:
            for _ in range(per_workflow):
                if stop.is_set():
                    return
                await self.trigger(workflow_id)
                idle = waiting[workflow_id] = asyncio.Event()
                try:
                    await asyncio.wait_for(idle.wait(), self._idle_timeout_s)
                except TimeoutError:
                    self.ledger.unexpected.append(f"{workflow_id}: never idle again")
                    return

        async def poll() -> None:
            while not done.is_set():
                ids = list(waiting)
                if ids:
                    query = {"workflow_id": {"$in": ids}, "status": "active",
                             "trigger.status": None}
                    try:
                        idle = await self.db.workflows.find(query, {"workflow_id": 1}).to_list()
                    except PyMongoError:
                        idle = []  # the database is being restarted
                    for doc in idle:
                        waiting.pop(doc["workflow_id"]).set()
                await asyncio.sleep(0.2)  # polling interval

        poller = asyncio.create_task(poll())
        try:
            await asyncio.gather(*(one(w) for w in self.ids))
        finally:
            done.set()
            await poller
        return self.ledger


async def more_accepted(load: TriggerLoad, count: int, *, after: str) -> None:
    """Wait until the load has had `count` more triggers accepted than now."""
    wanted = load.ledger.accepted + count

    async def done() -> bool:
        return load.ledger.accepted >= wanted

    await eventually(done, timeout_s=180, interval_s=0.2,
                     what=f"{count} more accepted triggers after {after}")


def not_idle_query(ids: list[str]) -> Json:
    return {
        "workflow_id": {"$in": ids},
        "$or": [{"status": {"$ne": "active"}}, {"trigger.status": {"$ne": None}}],
    }


async def wait_idle(db: Db, ids: list[str], *, timeout_s: float) -> None:
    """Every workflow active with no trigger status, and none of their executions pending."""

    async def idle() -> bool:
        try:
            if await db.workflows.count_documents(not_idle_query(ids), limit=1):
                return False
            pending = {"workflow_id": {"$in": ids}, "status": "pending"}
            return not await db.executions.count_documents(pending, limit=1)
        except PyMongoError:
            return False  # the database is being restarted: keep waiting

    try:
        await eventually(idle, timeout_s=timeout_s, interval_s=0.2, what="workflows idle")
    except AssertionError as exc:
        stuck = await db.workflows.find(
            not_idle_query(ids), {"_id": 0, "workflow_id": 1, "status": 1, "trigger": 1,
                                  "lock": 1, "scheduled_at": 1},
        ).to_list(5)
        raise AssertionError(f"{exc}; some not idle: {stuck}") from None
