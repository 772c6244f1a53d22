"""Run a background loop next to a small HTTP server, stopping both on SIGTERM/SIGINT;
the event loop and HTTP parser every service is served with."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import signal
from collections.abc import Coroutine, Generator
from typing import Any, Protocol, TypeVar

import uvicorn
from fastapi import FastAPI

from shared.infra.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")
GRACEFUL_HTTP_S = 5  # requests still open this long after the work stopped are cut

# uvloop and httptools when installed (they are dependencies): measured faster than asyncio's
# loop and h11 for workflows_svc (bench/serving.py, README "Performance"). uvicorn's "auto"
# picks the same; naming them makes the choice visible and keeps it if "auto" changes.
LOOP = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
HTTP = "httptools" if importlib.util.find_spec("httptools") else "h11"


def uvicorn_options() -> dict[str, str]:
    """The `loop` and `http` arguments for uvicorn.run / uvicorn.Config."""
    return {"loop": LOOP, "http": HTTP}


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop's event loop when installed (for a service's entry point)."""
    if LOOP == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def freeze_startup_heap() -> None:
    """Collect once, then leave every object alive now out of the cyclic collector's walks.

    A service's modules, classes and wiring are about 100k objects that live as long as the
    process; each full collection walked them all, 100-290 ms on a slow core during which the
    loop stood still (every few seconds in a busy runner). Frozen, a full collection walks
    only what was made since: 4-50 ms (README "Performance")."""
    gc.collect()
    gc.freeze()


class Loop(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve_with_loop`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_with_loop(
    app: FastAPI, work: Loop, *, host: str, port: int, stop_timeout_s: float = 40.0
) -> None:
    """Serve `app` and run `work` until a signal or until either ends; then stop both."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                            lifespan="off", loop=LOOP, http=HTTP,
                            timeout_graceful_shutdown=GRACEFUL_HTTP_S)
    server = _Server(config)
    freeze_startup_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server_task = asyncio.create_task(server.serve(), name="http")
    work_task = asyncio.create_task(work.run(), name="work")
    stopper = asyncio.create_task(stop.wait(), name="stop")
    await asyncio.wait({server_task, work_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    log.info("stopping", signalled=stop.is_set())
    work.stop()
    try:
        await asyncio.wait_for(asyncio.shield(work_task), stop_timeout_s)
    except TimeoutError:
        work_task.cancel()
    server.should_exit = True
    await server_task
    stopper.cancel()
    if work_task.done() and not work_task.cancelled() and work_task.exception():
        raise work_task.exception()  # type: ignore[misc]
