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
from shared.actions.http_request import HttpActionIn, HttpRequestAction
from shared.actions.kafka_publish import KafkaPublishAction, KafkaPublishActionIn
from shared.actions.log import LogAction, LogActionIn

# A stored action, as the domain and the runner see it.
Action = Annotated[
    LogAction | HttpRequestAction | KafkaPublishAction, Field(discriminator="type")
]
# An action in a request body; the order is the order a 400 lists the expected tags in.
ActionIn = Annotated[
    LogActionIn | HttpActionIn | KafkaPublishActionIn, Field(discriminator="type")
]

__all__ = [
    "Action", "ActionBase", "ActionIn", "ActionSpec", "HttpActionIn", "HttpRequestAction",
    "KafkaPublishAction", "KafkaPublishActionIn", "LogAction", "LogActionIn",
]
