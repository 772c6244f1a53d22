"""OpenTelemetry traces: off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

One trace per execution: the API's request span, then (W3C trace context in the Kafka
record's headers) the runner's execution span with a child span per action; an outbound
HTTP call carries `traceparent`. With tracing off every helper here is a cheap no-op.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor

TRACER_NAME = "workflow-automation"
Headers = Sequence[tuple[str, bytes]]
_installed = False  # set once a provider is: the global one is set once per process


def tracing_provider(
    service_name: str, *, endpoint: str | None, exporter: SpanExporter | None = None,
    processor: SpanProcessor | None = None,
) -> TracerProvider | None:
    """Install the global tracer provider for this process; None (tracing off) without an
    endpoint, an exporter or a processor. The OTLP/HTTP exporter reads the standard
    `OTEL_EXPORTER_OTLP_*` variables itself (endpoint, headers, timeout)."""
    if not (endpoint or exporter or processor):
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if processor is None:
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        processor = BatchSpanProcessor(exporter)
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    global _installed
    _installed = True
    return provider


@contextmanager
def traced_process(service_name: str, *, endpoint: str | None) -> Iterator[None]:
    """Tracing for this process's lifetime (when `endpoint` is set); buffered spans are
    exported on exit."""
    provider = tracing_provider(service_name, endpoint=endpoint)
    try:
        yield
    finally:
        if provider is not None:
            provider.shutdown()


def tracer() -> trace.Tracer:
    """The project's tracer (a no-op one while no provider is installed)."""
    return trace.get_tracer(TRACER_NAME)


def span(name: str, **options: Any) -> AbstractContextManager[trace.Span]:
    """`tracer().start_as_current_span(name, **options)`; while no provider is installed, a
    non-recording span and nothing else (the API's no-op span costs about 15 us a call,
    a seventh of the scheduler's CPU when it sends a page of due runs)."""
    if not _installed:
        return nullcontext(trace.INVALID_SPAN)
    return tracer().start_as_current_span(name, **options)


def trace_headers() -> list[tuple[str, bytes]]:
    """The current span's W3C context as Kafka record headers; none outside a span."""
    if not _installed or not trace.get_current_span().get_span_context().is_valid:
        return []
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(name, value.encode()) for name, value in carrier.items()]


def inject_http_headers(headers: dict[str, str]) -> None:
    """Add `traceparent` (and `tracestate`) of the current span to outbound HTTP headers."""
    if trace.get_current_span().get_span_context().is_valid:
        propagate.inject(headers)


@contextmanager
def remote_parent(headers: Headers | Mapping[str, str] | None) -> Iterator[None]:
    """Make the trace context carried by a record's headers current for the block."""
    if not headers:
        yield
        return
    items = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {
        name: value.decode("latin-1") if isinstance(value, bytes) else value
        for name, value in items
    }
    token = otel_context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)
