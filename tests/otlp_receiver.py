"""A small OTLP/HTTP trace receiver for tests: decodes `POST /v1/traces` (protobuf) and keeps
each span's service, name, trace id, span id and parent span id."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.polling import eventually_sync
from tests.target_server import _free_port


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, str]


def _service(resource_spans: object) -> str:
    for attribute in resource_spans.resource.attributes:  # type: ignore[attr-defined]
        if attribute.key == "service.name":
            return str(attribute.value.string_value)
    return ""


class OtlpReceiver:
    """Runs in a thread on 127.0.0.1; `spans` grows as exporters post batches."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self.port = _free_port()
        config = uvicorn.Config(
            Starlette(routes=[Route("/v1/traces", self._traces, methods=["POST"])]),
            host="127.0.0.1", port=self.port, log_config=None, access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def endpoint(self) -> str:
        """What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to (the exporter adds `/v1/traces`)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        eventually_sync(lambda: self._server.started, timeout_s=10, what="OTLP receiver")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _traces(self, request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        received = [
            ReceivedSpan(
                service=_service(resource_spans), name=span.name,
                trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                attributes={a.key: str(a.value.string_value or a.value.int_value)
                            for a in span.attributes},
            )
            for resource_spans in message.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._lock:
            self.spans.extend(received)
        return Response(ExportTraceServiceResponse().SerializeToString(),
                        media_type="application/x-protobuf")
