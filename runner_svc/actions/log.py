"""The `log` kind's handler: writes the (templated) message to the runner's log."""

from __future__ import annotations

import json

from runner_svc.actions.base import action_result
from shared.actions import LogAction
from shared.domain.models import ActionResult
from shared.domain.run_context import RunContext
from shared.domain.templating import TemplateError, mask
from shared.infra.logs import get_logger
from shared.infra.redact import mask_credentials

log = get_logger(__name__)


class LogHandler:
    """Runs `log` actions; ok unless a reference in the message finds nothing."""

    async def run(self, action: LogAction, context: RunContext) -> ActionResult:
        try:
            rendered = context.render(action.message)
        except TemplateError as exc:
            return action_result(action, False, f"template: {exc}")
        value = rendered.value
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        message = mask(text, context.secret_values)
        emit = {"warning": log.warning, "error": log.error}.get(action.level, log.info)
        emit("log action", action_id=action.action_id, message=mask_credentials(message))
        return action_result(action, True, f"stdout: {message}")
