"""The API honours its own OpenAPI document: schemathesis, with every one of its checks,
over every documented operation, with each role's key and with none.

Positive requests (valid by the schema) and negative ones (breaking it) are generated
from a fixed seed, a bounded number per operation, and sent in-process to an app of the
test's own (the fake scorer, a database of its own). A request valid by the schema may
still break a rule the schema cannot express (a case's contract rules, a decision that
disagrees with the stored RAG without a reason): the operations that document such
rules on their 422 may answer 422 to positive data, and no others.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from api.store import init_db
from tests.api.conftest import ApiEnv, issue_keys, make_settings
from tests.api.fakes import FakeScorer

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 20
SEED = 19
CALLERS = ["triage", "data_scientist", "governance", "admin", None]
# Every route of the API but its documentation pages and /metrics (Prometheus' format).
EVERY_ROUTE = {("post", "/v1/score"), ("post", "/v1/score/batch"), ("post", "/v1/decisions"),
               ("get", "/v1/referrals/{referral_id}"), ("get", "/v1/audit"),
               ("get", "/v1/model"), ("get", "/healthz"), ("get", "/readyz"),
               ("get", "/v1/subjects/{person_id}"), ("get", "/v1/models/{version}/card"),
               ("post", "/v1/models/{version}/approvals")}
# The operations whose 422 documents rules beyond the schema (`api.routes.scores.CASE_RULES`,
# `api.routes.decisions.DECISION_RULES`, `api.routes.records.PERIOD_RULE`).
BUSINESS_RULE_OPERATIONS = r"^/v1/(score|score/batch|decisions|models/[^/]+/approvals|audit)$"


@pytest.fixture(scope="module")
def conformance_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    """An app of this module's own: the failed keys schemathesis sends lock no other test
    out, and its data is its own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('conformance') / f'{uuid.uuid4().hex}.db'}"
    init_db(url)
    # No lockouts (`make_settings`): schemathesis sends wrong keys on purpose, expecting
    # 401, and a lockout's 429 would fail its check; tests/api/test_auth_limits.py has them.
    settings = make_settings(url, max_batch_cases=5, max_body_bytes=64 * 1024)
    keys, revoked = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        yield ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings)


def _config() -> SchemathesisConfig:
    # 413: the batch size limit is a setting of the running service (5 here), documented
    # as the route's 413, not a bound of the schema.
    statuses = ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx", "422"]
    return SchemathesisConfig.from_dict({"operations": [{
        "include-path-regex": BUSINESS_RULE_OPERATIONS,
        "checks": {"positive_data_acceptance": {"expected-statuses": statuses},
                   "negative_data_rejection": {"expected-statuses": [
                       "400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                       "428", "429", "5xx"]}},
    }]})


def _schema(api: ApiEnv) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", api.client.app, config=_config())


def test_every_route_is_documented_with_one_error_model(conformance_api: ApiEnv) -> None:
    document = conformance_api.client.get("/openapi.json").json()
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == EVERY_ROUTE
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            has_input = "parameters" in operation or "requestBody" in operation
            invalid = operation["responses"].get("422")
            assert (invalid is not None) == has_input, f"{method} {path}"
            if invalid:
                schema = invalid["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ValidationProblem"}
            if method == "post":
                assert {"413", "415"} <= set(operation["responses"]), f"{method} {path}"


@pytest.mark.parametrize("caller", CALLERS, ids=[c or "no-key" for c in CALLERS])
def test_every_operation_honours_the_document(conformance_api: ApiEnv, caller: str | None
                                              ) -> None:
    headers = conformance_api.headers(caller) if caller else {}
    checks = [check for check in CHECKS.get_all() if callable(check)]
    operations = [result.ok() for result in _schema(conformance_api).get_all_operations()]
    assert {(op.method, op.path) for op in operations} == EVERY_ROUTE
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                      database=None, suppress_health_check=list(HealthCheck))
            def honours_the_document(case: Case) -> None:
                case.call_and_validate(headers=headers, checks=checks)

            try:
                honours_the_document()
            except Unsatisfiable:
                # An operation without inputs (/healthz) has no invalid request to make.
                assert mode is GenerationMode.NEGATIVE


def test_times_are_rfc3339_with_an_offset_and_naive_times_are_refused(api: ApiEnv) -> None:
    headers = api.headers("admin")
    entries = api.client.get("/v1/audit", headers=headers).json()["entries"]
    # (the audit read above is itself audited, so there is at least one entry now)
    entries = entries or api.client.get("/v1/audit", headers=headers).json()["entries"]
    assert entries and all(e["created_at"].endswith(("Z", "+00:00")) for e in entries)
    for naive in ("2026-12-04T17:02:35", "1733331755", "2026-12-04"):
        answer = api.client.get("/v1/audit", params={"since": naive}, headers=headers)
        assert answer.status_code == 422, naive
        assert answer.json()["detail"][0]["field"] == "since"
    aware = api.client.get("/v1/audit", params={"since": "2000-01-01T01:00:00+01:00"},
                           headers=headers)
    assert aware.status_code == 200


@pytest.mark.parametrize("path", ["/v1/score", "/v1/score/batch", "/v1/decisions"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", "application/merge-patch+json",
                                          "application/json-patch+json", None])
def test_a_body_that_is_not_json_is_refused_with_415_on_every_route(
    api: ApiEnv, path: str, content_type: str | None
) -> None:
    headers = {**api.headers("triage"), **({"Content-Type": content_type} if content_type
                                          else {})}
    answer = api.client.post(path, content=b'{"referral": {}}', headers=headers)
    assert answer.status_code == 415
    assert "application/json" in answer.json()["detail"]


def test_every_422_has_the_one_documented_shape(api: ApiEnv) -> None:
    headers = {**api.headers("triage"), "Content-Type": "application/json"}
    refusals = [
        api.client.post("/v1/score", content=b"", headers=headers),  # an empty body
        api.client.post("/v1/score", headers=api.headers("triage")),  # no body at all
        api.client.post("/v1/decisions", content=b"\xff\xfe", headers=headers),  # not UTF-8
        api.client.post("/v1/decisions", json={"referral_id": "r", "practitioner_rag": "red",
                                               "next_step": "x", "agrees_with_band": False},
                        headers=headers),  # disagreeing without a reason
        api.client.get("/v1/audit", params={"limit": 0}, headers=api.headers("governance")),
    ]
    for answer in refusals:
        assert answer.status_code == 422, answer.text
        (error, *_) = answer.json()["detail"]
        assert set(error) == {"field", "loc", "message", "type"}
