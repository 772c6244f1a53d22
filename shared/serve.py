"""Run a background loop next to a small HTTP server, stopping both on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Generator
from typing import Protocol

import uvicorn
from fastapi import FastAPI

from shared.logs import get_logger

log = get_logger(__name__)


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
                            lifespan="off")
    server = _Server(config)
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
