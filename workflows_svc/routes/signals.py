"""Route of a signal to an execution parked on `wait-for-signal` (SPEC 11)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path

from workflows_svc.routes.deps import ServiceDep, error_responses, require_json
from workflows_svc.schemas import SignalledOut

router = APIRouter(prefix="/executions", tags=["executions"])
SIGNAL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


@router.post(
    "/{execution_id}/signals/{signal}", response_model=SignalledOut,
    dependencies=[Depends(require_json)], responses=error_responses(400, 404, 409, 415, 503),
)
async def send_signal(
    execution_id: str, service: ServiceDep,
    signal: Annotated[str, Path(max_length=64, pattern=SIGNAL_NAME)],
    payload: Annotated[Any, Body(description="any JSON value, `${actions.<name>.signal}`")],
) -> SignalledOut:
    """Deliver a JSON payload to the action waiting for `signal`, and wake the execution."""
    action = await service.signals().deliver(execution_id, signal, payload)
    return SignalledOut(action=action)
