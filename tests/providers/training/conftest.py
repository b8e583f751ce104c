"""Fixtures for the training unit tests: an in-memory span exporter on the global tracer provider."""

from __future__ import annotations

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture(scope="session")
def _span_exporter_session() -> InMemorySpanExporter:
    # The global provider can be set once per process; join an SDK provider if one is already set.
    provider = trace_api.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace_api.set_tracer_provider(provider)
        provider = trace_api.get_tracer_provider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[union-attr]
    return exporter


@pytest.fixture
def span_exporter(_span_exporter_session: InMemorySpanExporter) -> InMemorySpanExporter:
    _span_exporter_session.clear()
    return _span_exporter_session
