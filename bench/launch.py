"""`python -m bench.launch`: a service started as its own `__main__` starts it, with the event
loop and HTTP parser chosen by the environment, for bench/serving.py's comparisons:

    BENCH_SERVICE=workflows_svc|runner_svc|scheduler_svc
    BENCH_LOOP=uvloop|asyncio    BENCH_HTTP=httptools|h11   (workflows_svc only)
"""

from __future__ import annotations

import asyncio
import os
import signal

import uvicorn

from shared.infra.logs import configure_logging
from shared.infra.settings import Settings
from shared.web.serve import freeze_startup_heap


def main() -> None:
    service = os.environ["BENCH_SERVICE"]
    loop = os.environ.get("BENCH_LOOP", "auto")
    settings = Settings()
    configure_logging(service, settings.log_level)
    if service == "workflows_svc":
        from workflows_svc import main as api

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, api._exit_cleanly)
        app = api.build_app(settings)
        freeze_startup_heap()  # as workflows_svc.main does
        uvicorn.run(
            app, host=settings.host, port=settings.port or api.DEFAULT_PORT,
            log_config=None, access_log=False, timeout_graceful_shutdown=10,
            loop=loop, http=os.environ.get("BENCH_HTTP", "auto"),
        )
        return
    if service == "runner_svc":
        from runner_svc.main import run
    elif service == "scheduler_svc":
        from scheduler_svc.main import run
    else:
        raise SystemExit(f"unknown BENCH_SERVICE {service!r}")
    if loop == "uvloop":
        import uvloop

        uvloop.run(run(settings))
    else:
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
