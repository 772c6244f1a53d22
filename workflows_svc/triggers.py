"""The time rules of a trigger as defined (SPEC 10): the stored `Trigger`, or a 400."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.domain.cron import CronError, parse_cron
from shared.domain.definition import TriggerSpec, WorkflowDefinition
from shared.domain.durations import DurationError, parse_duration
from shared.domain.errors import InvalidInput
from shared.domain.inputs import (
    InputError,
    InputSpec,
    check_declarations,
    requires_input,
    resolve_input,
)
from shared.domain.models import Trigger, TriggerType
from shared.domain.schedules import Overlap, schedule_for
from shared.domain.timing import MAX_INTERVAL_MS, parse_interval_ms, to_ms

SCHEDULED = (TriggerType.PERIODIC, TriggerType.CRON, TriggerType.ONCE)
_AT_EXAMPLE = "'2030-05-01T09:00:00+02:00'"


@dataclass(frozen=True, slots=True)
class TriggerRules:
    """Bounds from the settings."""

    min_interval_ms: int = 1_000


def build_trigger(definition: WorkflowDefinition, now: datetime, rules: TriggerRules) -> Trigger:
    """The trigger to store for `definition`, its first run set; InvalidInput naming the field."""
    declared = _declared(definition.inputs)
    spec = definition.trigger
    trigger = _BUILDERS[spec.type](spec, now, rules)
    _scheduling_options(trigger, definition)
    if spec.type == TriggerType.MANUAL:
        trigger.input_required = requires_input(declared)
    else:
        trigger.input = _checked_input(declared, spec.input)
    trigger.next_run = schedule_for(trigger).first_run(created_at=now, now=now)
    return trigger


def _declared(inputs: Mapping[str, InputSpec] | None) -> dict[str, InputSpec]:
    try:
        check_declarations(inputs or {})
    except InputError as exc:
        raise InvalidInput(f"inputs: {exc}") from exc
    return dict(inputs or {})


def _checked_input(
    declared: Mapping[str, InputSpec], given: dict[str, Any] | None
) -> dict[str, Any] | None:
    try:
        resolve_input(declared, given)
    except InputError as exc:
        raise InvalidInput(f"trigger.input: {exc}") from exc
    return given


def _scheduling_options(trigger: Trigger, definition: WorkflowDefinition) -> None:
    """`overlap` and `catchup_window`: only for scheduled triggers."""
    given = [n for n in ("overlap", "catchup_window") if getattr(definition, n) is not None]
    if given and trigger.type not in SCHEDULED:
        raise InvalidInput(f"{given[0]} is only allowed for scheduled triggers "
                           "(periodic, cron, once)")
    if definition.overlap is not None:
        trigger.overlap = Overlap(definition.overlap).value
    if definition.catchup_window is not None:
        try:
            window = parse_duration(definition.catchup_window, allow_zero=True)
        except DurationError as exc:
            raise InvalidInput(f"catchup_window: {exc}") from exc
        trigger.catchup_window = definition.catchup_window
        trigger.catchup_window_ms = int(window.total_seconds() * 1000)


def _manual(spec: TriggerSpec, now: datetime, rules: TriggerRules) -> Trigger:
    if spec.interval is not None:
        raise InvalidInput("trigger.interval is only allowed for periodic workflows")
    return Trigger(type=TriggerType.MANUAL)


def _periodic(spec: TriggerSpec, now: datetime, rules: TriggerRules) -> Trigger:
    if spec.interval is None:
        raise InvalidInput("trigger.interval is required for periodic workflows")
    interval_ms = parse_interval_ms(spec.interval)
    if interval_ms is None:
        raise InvalidInput(
            f"trigger.interval {spec.interval!r} must be a positive integer followed by "
            "s, m or h, e.g. '30s', '5m', '1h'"
        )
    if interval_ms > MAX_INTERVAL_MS:
        raise InvalidInput("trigger.interval must be at most 366 days")
    if interval_ms < rules.min_interval_ms:
        raise InvalidInput(
            f"trigger.interval must be at least {rules.min_interval_ms / 1000:g}s"
        )
    return Trigger(type=TriggerType.PERIODIC, interval=spec.interval, interval_ms=interval_ms)


def _cron(spec: TriggerSpec, now: datetime, rules: TriggerRules) -> Trigger:
    if spec.cron is None:
        raise InvalidInput("trigger.cron is required when trigger.type is 'cron'")
    timezone = spec.timezone or "UTC"
    try:
        parse_cron("* * * * *", timezone)
    except CronError as exc:
        raise InvalidInput(f"trigger.timezone: {exc}") from exc
    try:
        parse_cron(spec.cron, timezone)
    except CronError as exc:
        raise InvalidInput(f"trigger.cron: {exc}") from exc
    return Trigger(type=TriggerType.CRON, cron=spec.cron, timezone=timezone)


def _once(spec: TriggerSpec, now: datetime, rules: TriggerRules) -> Trigger:
    if (spec.at is None) == (spec.after is None):
        raise InvalidInput(
            "a once trigger needs exactly one of trigger.at (ISO 8601 with an offset) "
            "or trigger.after (a duration such as '90s' or '2h')"
        )
    if spec.after is not None:
        try:
            delay = parse_duration(spec.after)
        except DurationError as exc:
            raise InvalidInput(f"trigger.after: {exc}") from exc
        return Trigger(type=TriggerType.ONCE, at=to_ms(now + delay), after=spec.after)
    return Trigger(type=TriggerType.ONCE, at=_future_instant(spec.at or "", now))


def _future_instant(text: str, now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
        if moment.utcoffset() is None:
            raise ValueError("no offset")
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(
            f"trigger.at {text!r} must be an ISO 8601 time with an offset, e.g. {_AT_EXAMPLE}"
        ) from exc
    if moment <= now:
        raise InvalidInput(
            f"trigger.at {text!r} is not in the future (now is {now.isoformat()})"
        )
    return to_ms(moment)


_BUILDERS = {
    TriggerType.MANUAL: _manual, TriggerType.PERIODIC: _periodic,
    TriggerType.CRON: _cron, TriggerType.ONCE: _once,
}
