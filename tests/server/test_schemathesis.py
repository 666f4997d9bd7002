"""Property-based requests generated from /openapi.json against a live backend on the stub: valid and invalid
bodies, every operation; no answer may be a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

pytestmark = pytest.mark.slow
EXAMPLES = 12  # per operation and mode: enough to hit every validation branch, bounded to well under a minute


@pytest.fixture(scope="module")
def backend_url() -> Iterator[str]:
    with StubEngine() as stub, LiveBackend({}, [stub.url]) as backend:
        yield backend.url


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(backend_url: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{backend_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/chat", "/v1/chat/completions", "/health", "/stats"}
    if mode is GenerationMode.NEGATIVE:  # only bodies can be made invalid; the GET operations take no input
        operations = [op for op in operations if op.method.upper() == "POST"]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=backend_url, checks=[not_a_server_error], timeout=30)

        check()
