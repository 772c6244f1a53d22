"""The `log` kind's handler: writes the message to the runner's log."""

from __future__ import annotations

from runner_svc.actions.base import action_result
from shared.actions import LogAction
from shared.domain.models import ActionResult
from shared.infra.logs import get_logger
from shared.infra.redact import mask_credentials

log = get_logger(__name__)


class LogHandler:
    """Runs `log` actions; always ok."""

    async def run(self, action: LogAction) -> ActionResult:
        log.info("log action", action_id=action.action_id,
                 message=mask_credentials(action.message))
        return action_result(action, True, f"stdout: {action.message}")
