"""Ports: the interfaces services depend on, one per role; adapters implement them."""

from shared.domain.lifecycle.dispatch import (
    DueClaim,
    DueWorkflow,
    Release,
    TriggerClaim,
    WakeClaim,
)
from shared.domain.lifecycle.listing import WorkflowFilter
from shared.ports.basics import Clock, HealthCheck
from shared.ports.executions import ExecutionRepository
from shared.ports.messaging import (
    ConsumedMessage,
    DeadLetterSink,
    ExecutionRequestPublisher,
    MessageSource,
    NextRunWatch,
)
from shared.ports.workflows import (
    ApiWorkflows,
    ArchivedRuns,
    Dispatch,
    Leases,
    QueueDepth,
    SchedulerWorkflows,
    Transitions,
    TriggerClaims,
    Wakes,
    WorkflowDefinitions,
    WorkflowRepository,
    WorkflowVersions,
)

__all__ = [
    "ApiWorkflows",
    "ArchivedRuns",
    "Clock",
    "ConsumedMessage",
    "DeadLetterSink",
    "Dispatch",
    "DueClaim",
    "DueWorkflow",
    "ExecutionRepository",
    "ExecutionRequestPublisher",
    "HealthCheck",
    "Leases",
    "MessageSource",
    "NextRunWatch",
    "QueueDepth",
    "Release",
    "SchedulerWorkflows",
    "Transitions",
    "TriggerClaim",
    "TriggerClaims",
    "WakeClaim",
    "Wakes",
    "WorkflowDefinitions",
    "WorkflowFilter",
    "WorkflowRepository",
    "WorkflowVersions",
]
