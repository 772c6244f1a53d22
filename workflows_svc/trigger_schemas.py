"""Request bodies of triggers and inputs (SPEC 9 and 10): one model per trigger kind.

The kind is chosen by `type` in a validator rather than by a pydantic discriminated union,
so that errors keep the locations v1 answered with (`trigger.interval`, `trigger.type`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)

from shared.domain.definition import TriggerSpec
from shared.domain.inputs import INPUT_TYPES, InputSpec
from shared.domain.models import TriggerType
from workflows_svc.patterns import DURATION, INPUT_NAME, INTERVAL, POSITIVE_DURATION

TRIGGER_TYPES = tuple(t.value for t in TriggerType)
InputValues = Annotated[dict[str, Any], Field(max_length=50)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerIn(_Strict):
    """Only the kind: what an unknown or missing `type` is checked against."""

    type: Literal["manual", "periodic", "cron", "once"]


class ManualTriggerIn(_Strict):
    type: Literal["manual"]
    interval: str | None = Field(None, max_length=32)  # refused by the service, as in v1

    def to_spec(self) -> TriggerSpec:
        return TriggerSpec(TriggerType.MANUAL, interval=self.interval)


class PeriodicTriggerIn(_Strict):
    type: Literal["periodic"]
    interval: str | None = Field(None, max_length=32)
    input: InputValues | None = None

    def to_spec(self) -> TriggerSpec:
        return TriggerSpec(TriggerType.PERIODIC, interval=self.interval, input=self.input)


class CronTriggerIn(_Strict):
    type: Literal["cron"]
    cron: str | None = Field(None, max_length=200)  # required: the service says so
    timezone: str = Field("UTC", min_length=1, max_length=64)
    input: InputValues | None = None

    def to_spec(self) -> TriggerSpec:
        return TriggerSpec(
            TriggerType.CRON, cron=self.cron, timezone=self.timezone, input=self.input
        )


class OnceTriggerIn(_Strict):
    type: Literal["once"]
    at: str | None = Field(None, max_length=64)
    after: str | None = Field(None, pattern=POSITIVE_DURATION)
    input: InputValues | None = None

    def to_spec(self) -> TriggerSpec:
        return TriggerSpec(TriggerType.ONCE, at=self.at, after=self.after, input=self.input)


AnyTriggerIn = ManualTriggerIn | PeriodicTriggerIn | CronTriggerIn | OnceTriggerIn
_KINDS: dict[str, type[AnyTriggerIn]] = {
    "manual": ManualTriggerIn, "periodic": PeriodicTriggerIn,
    "cron": CronTriggerIn, "once": OnceTriggerIn,
}


def _by_type(value: Any, handler: ValidatorFunctionWrapHandler) -> AnyTriggerIn:
    """Validate with the model of the trigger's `type`; TriggerIn explains a bad `type`."""
    if isinstance(value, BaseModel):
        return handler(value)  # type: ignore[no-any-return]
    kind = _KINDS.get(str(value.get("type"))) if isinstance(value, dict) else None
    if kind is None:
        TriggerIn.model_validate(value)  # raises: the kind is missing or unknown
        raise AssertionError("unreachable: TriggerIn accepted no known kind")
    return kind.model_validate(value)


def _kind(title: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "title": title, "additionalProperties": False,
            "required": ["type", *required], "properties": properties}


_INPUT = {"type": "object", "maxProperties": 50,
          "description": "values for the workflow's declared inputs"}
_INTERVAL_DOC = (
    'positive integer + s, m or h ("30s", "5m", "1h"); at least the configured minimum '
    "interval (default 1s), at most 366 days"
)
_CRON = {"type": "string", "maxLength": 200, "examples": ["0 9 * * 1-5"],
         "description": "5 fields: minute hour day-of-month month day-of-week (ranges, "
                        "steps, lists, names)"}
_ZONE = {"type": "string", "minLength": 1, "maxLength": 64, "default": "UTC",
         "examples": ["Europe/Berlin"], "description": "an IANA time zone"}
TRIGGER_SCHEMA: dict[str, Any] = {"oneOf": [
    _kind("ManualTrigger", {"type": {"const": "manual"}, "interval": {"type": "null"}}, []),
    _kind("PeriodicTrigger", {
        "type": {"const": "periodic"},
        "interval": {"type": "string", "pattern": INTERVAL, "description": _INTERVAL_DOC},
        "input": _INPUT}, ["interval"]),
    _kind("CronTrigger", {"type": {"const": "cron"}, "cron": _CRON, "timezone": _ZONE,
                          "input": _INPUT}, ["cron"]),
    _kind("OnceAtTrigger", {
        "type": {"const": "once"}, "input": _INPUT,
        "at": {"type": "string", "maxLength": 64, "examples": ["2030-05-01T09:00:00+02:00"],
               "description": "ISO 8601 with an offset, in the future"}}, ["at"]),
    _kind("OnceAfterTrigger", {
        "type": {"const": "once"}, "input": _INPUT,
        "after": {"type": "string", "pattern": POSITIVE_DURATION, "examples": ["90s", "2h"],
                  "description": "from now: an integer and ms, s, m, h or d; at most 366 days"},
    }, ["after"]),
]}
TriggerField = Annotated[AnyTriggerIn, WrapValidator(_by_type), WithJsonSchema(TRIGGER_SCHEMA)]


class InputDeclIn(_Strict):
    """One declared input."""

    type: Literal["string", "integer", "number", "boolean", "object", "array"]
    required: bool = False
    default: Any = None

    def to_spec(self) -> InputSpec:
        return InputSpec(type=self.type, required=self.required, default=self.default)


InputName = Annotated[str, StringConstraints(pattern=INPUT_NAME)]
_INPUT_DECL = {
    "type": "object", "title": "InputDeclaration", "additionalProperties": False,
    "required": ["type"],
    "properties": {"type": {"enum": list(INPUT_TYPES)}, "required": {"type": "boolean"},
                   "default": {"description": "of the declared type"}},
}
InputsField = Annotated[
    dict[InputName, InputDeclIn], Field(max_length=50),
    WithJsonSchema({"type": "object", "maxProperties": 50,
                    "propertyNames": {"pattern": INPUT_NAME},
                    "additionalProperties": _INPUT_DECL,
                    "examples": [{"customer": {"type": "string", "required": True},
                                  "limit": {"type": "integer", "default": 10}}]}),
]
OverlapField = Literal["skip", "buffer_one"]
CatchupField = Annotated[str, Field(pattern=DURATION,
                                    description='default "1h"; "0s" never catches up')]


class TriggerBody(_Strict):
    """Optional body of POST /workflows/{id}/trigger."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"input": {"customer": "acme"}}]}
    )

    input: InputValues | None = None
