"""Property test against the OpenAPI schema: no generated request may produce a 5xx.

Schemathesis generates requests for every documented operation, both valid ones
(positive) and ones that break the schema (negative), sent in-process with an
admin key to the app with the fake scorer. Examples per operation are bounded so
the run takes seconds, not minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode

from tests.api.conftest import ApiEnv

EXAMPLES_PER_OPERATION = 30


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_produces_a_server_error(api: ApiEnv, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = api.headers("admin")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert {op.path for op in operations} >= {"/v1/score", "/v1/decisions", "/v1/audit"}

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}"

        try:
            no_server_error()
        except Unsatisfiable:
            # An operation without inputs (e.g. /healthz) has no invalid request to make.
            assert mode is GenerationMode.NEGATIVE
