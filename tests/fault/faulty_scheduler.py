"""Test-only wiring: scheduler_svc with a fault hook (`python -m tests.fault.faulty_scheduler`).

`SCHEDULER_FAULT=after_claim` SIGKILLs the process between a claim and its produce, the
crash the scheduler must survive. Production wiring (`scheduler_svc.main`) has no hook.
"""

from __future__ import annotations

import os
import signal

from scheduler_svc import main as scheduler_main
from scheduler_svc.scheduler import FaultHook
from shared.infra.logs import configure_logging, get_logger
from shared.infra.settings import Settings
from shared.web import serve

log = get_logger(__name__)


def kill_at(fault_point: str) -> FaultHook:
    """A hook that SIGKILLs this process when the scheduler reaches `fault_point`."""

    def hook(point: str) -> None:
        if point == fault_point:
            log.warning("fault hook: killing the scheduler", point=point)
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def main() -> None:
    settings = Settings()
    configure_logging("scheduler_svc", settings.log_level)
    serve.run(scheduler_main.run(settings, fault_hook=kill_at(os.environ["SCHEDULER_FAULT"])))


if __name__ == "__main__":
    main()
