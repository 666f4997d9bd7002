"""Property-based requests generated from /openapi.json against a live backend, on the stub engine and on the real
one: valid and invalid bodies, every operation, every schemathesis check (no 5xx, statuses and bodies as the spec
declares them, invalid data refused, the key required where the spec says)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING, ENGINE_CEILING
from tests.support.stub_engine import StubEngine

pytestmark = pytest.mark.slow
EXAMPLES = 25  # per operation and mode: every validation branch, bounded to about a minute per backend
KEY = "schemathesis-key"
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
"""What counts as refusing invalid data: schemathesis's own list plus 413, the answer to a body over
``max_body_bytes`` (a generated string far past its ``maxLength`` can make one), given before validation runs.
5xx stays in the list only as schemathesis has it; the ``not_a_server_error`` check fails any 5xx on its own."""
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
        # A nickname's rules (trimmed, 1 to 24 characters, none of them a control or format character) are more
        # than JSON Schema can say: a schema-valid "" or "\u0007" is refused 422, as it should be.
        "operations": [
            {"include-path": "/class/join", "checks": {"positive_data_acceptance": {"enabled": False}}}
        ],
    }
)


@pytest.fixture(scope="module")
def stub_backend() -> Iterator[str]:
    with StubEngine() as stub, LiveBackend({"api_key": KEY}, [stub.url]) as backend:
        yield backend.url


@pytest.fixture(scope="module")
def real_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.support.live_backend import served_embedded

    # /chat answers with the server's max_tokens (8: client_sampling is off); a 1,024-token context bounds what a
    # generated /v1 request may ask for (max_tokens up to 4096) and holds a generated conversation_history (one
    # of 306 tokens overflowed 256)
    with served_embedded(
        tmp_path_factory.mktemp("logs"), {"api_key": KEY, "max_tokens": 8}, parallel=4, context_length=1024
    ) as (
        _,
        live,
    ):
        yield live.url


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_check_on_the_stub(stub_backend: str, mode: GenerationMode) -> None:
    run_all_checks(stub_backend, mode, CEILING)


@pytest.mark.engine
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_check_on_the_real_engine(real_backend: str, mode: GenerationMode) -> None:
    run_all_checks(real_backend, mode, ENGINE_CEILING)


def run_all_checks(backend_url: str, mode: GenerationMode, timeout: float) -> None:
    schema = schemathesis.openapi.from_url(f"{backend_url}/openapi.json", config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/chat", "/v1/chat/completions", "/health", "/stats"}
    if (
        mode is GenerationMode.NEGATIVE
    ):  # only bodies can be made invalid; the GETs (and /class/leave) have none
        operations = [op for op in operations if len(op.body) > 0]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                base_url=backend_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=timeout
            )

        check()
