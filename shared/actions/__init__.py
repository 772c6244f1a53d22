"""Action kinds: one module per kind, holding its request schema, validation and model.

The registry is the two unions below, discriminated by `type`: a kind's module plus its
two members here (and a handler in runner_svc.main) is the whole of adding a kind.
A `type` outside them is an error wherever it is read: a 400 in a request body, a
validation error in a stored document.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.actions.base import ActionBase, ActionSpec
from shared.actions.delay import DelayAction, DelayActionIn
from shared.actions.http_request import HttpActionIn, HttpRequestAction
from shared.actions.kafka_publish import KafkaPublishAction, KafkaPublishActionIn
from shared.actions.log import LogAction, LogActionIn
from shared.actions.wait_for_signal import WaitForSignalAction, WaitForSignalActionIn

# A stored action, as the domain and the runner see it.
Action = Annotated[
    LogAction | HttpRequestAction | KafkaPublishAction | DelayAction | WaitForSignalAction,
    Field(discriminator="type"),
]
# An action in a request body; the order is the order a 400 lists the expected tags in.
ActionIn = Annotated[
    LogActionIn | HttpActionIn | KafkaPublishActionIn | DelayActionIn | WaitForSignalActionIn,
    Field(discriminator="type"),
]
# The kinds that park their execution instead of running in the runner (SPEC 11).
WAIT_KINDS = ("delay", "wait-for-signal")

__all__ = [
    "WAIT_KINDS", "Action", "ActionBase", "ActionIn", "ActionSpec", "DelayAction",
    "DelayActionIn", "HttpActionIn", "HttpRequestAction", "KafkaPublishAction",
    "KafkaPublishActionIn", "LogAction", "LogActionIn", "WaitForSignalAction",
    "WaitForSignalActionIn",
]
