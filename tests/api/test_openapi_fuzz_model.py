"""The no-server-error property test again, against the app serving a real model.

Generated payloads that pass validation reach the feature pipeline, the model
and the explainer, which the fake scorer never exercises.
"""

from __future__ import annotations

import pytest
from schemathesis import GenerationMode

from tests.api.conftest import ApiEnv
from tests.api.test_openapi_fuzz import (
    test_no_generated_request_produces_a_server_error as no_server_error,
)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_produces_a_server_error_with_the_real_model(
    model_api: ApiEnv, mode: GenerationMode
) -> None:
    no_server_error(model_api, mode)
