"""Every route refuses callers without a valid key (401) and roles it does not serve (403)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from api.audit import sha256_hex
from api.auth import ROLES
from api.store.db import Store
from api.store.models import AuditEntry
from tests.api import factories
from tests.api.conftest import ApiEnv

# (method, path, body factory, roles allowed)
ROUTES: list[tuple[str, str, Any, set[str]]] = [
    ("POST", "/v1/score", factories.case, {"triage", "admin"}),
    ("POST", "/v1/score/batch", lambda: {"cases": [factories.case()]}, {"triage", "admin"}),
    ("GET", "/v1/model", None, set(ROLES)),
    ("POST", "/v1/decisions", lambda: factories.decision("R-none"), {"triage", "admin"}),
    ("GET", "/v1/referrals/R-none", None, {"triage", "governance", "admin"}),
    ("GET", "/v1/audit", None, {"governance", "admin"}),
    ("GET", "/v1/subjects/P-none", None, {"governance", "admin"}),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _, _ in ROUTES]


def _call(api: ApiEnv, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    json = body() if body else None
    return api.client.request(method, path, json=json, headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer deadbeefdeadbeef.wrong-secret"},
        {"X-API-Key": "deadbeefdeadbeef.wrong-secret"},
    ],
    ids=["no key", "malformed", "unknown bearer", "unknown x-api-key"],
)
def test_without_a_valid_key_every_route_answers_401(
    api: ApiEnv, method: str, path: str, body: Any, allowed: set[str], headers: dict[str, str]
) -> None:
    assert _call(api, method, path, body, headers) == 401


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES, ids=ROUTE_IDS)
def test_a_revoked_key_answers_401(
    api: ApiEnv, method: str, path: str, body: Any, allowed: set[str]
) -> None:
    headers = {"Authorization": f"Bearer {api.revoked_key}"}
    assert _call(api, method, path, body, headers) == 401


def test_a_wrong_secret_for_a_real_key_id_answers_401(api: ApiEnv) -> None:
    key_id = api.keys["admin"].split(".")[0]
    response = api.client.get("/v1/model", headers={"X-API-Key": f"{key_id}.guessed"})
    assert response.status_code == 401


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES, ids=ROUTE_IDS)
def test_each_role_reaches_exactly_its_routes(
    api: ApiEnv, role: str, method: str, path: str, body: Any, allowed: set[str]
) -> None:
    status = _call(api, method, path, body, api.headers(role))
    if role in allowed:
        assert status not in (401, 403), f"{role} refused on {method} {path}"
    else:
        assert status == 403, f"{role} got {status} on {method} {path}"


def test_a_role_refused_is_audited_with_what_it_tried_to_reach(api: ApiEnv) -> None:
    """A triage user's try at a person's subject access record, or a data scientist's
    at a referral, is in the trail (it was only answered 403), naming the person and
    referral the store holds."""
    case = factories.case(person_id=f"P-wanted-{factories.referral_id()}")
    wanted, person = case["referral"]["referral_id"], case["referral"]["person_id"]
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    for role, path in (("triage", f"/v1/subjects/{person}"),
                       ("data_scientist", f"/v1/referrals/{wanted}")):
        assert api.client.get(path, headers=api.headers(role)).status_code == 403
    assert api.client.get(f"/v1/subjects/{person}").status_code == 401  # no user: counted
    store = Store(api.settings.database_url)
    with store.session() as session:
        refused = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "access_refused").order_by(AuditEntry.seq)))
    store.dispose()
    assert [(e.role, e.details["route"], e.details.get("person_id"), e.referral_id)
            for e in refused[-2:]] == [
        ("triage", "/v1/subjects/{person_id}", person, None),
        ("data_scientist", "/v1/referrals/{referral_id}", None, wanted)]
    assert refused[-2].details["allowed"] == ["governance", "admin"]
    assert refused[-1].user_name.startswith("data_scientist")


def test_a_refusal_naming_no_referral_id_is_audited_on_either_store(
    backend_api: ApiEnv
) -> None:
    """The role is refused before the route checks its path: a value over the columns'
    100 characters, or holding a NUL, made PostgreSQL's insert fail (a 500, no entry);
    each is kept as its SHA-256 (`tests/api/test_audit_asked_values.py`)."""
    api = backend_api
    for asked in ("R" * 150, "a%00b"):
        response = api.client.get(f"/v1/referrals/{asked}",
                                  headers=api.headers("data_scientist"))
        assert response.status_code == 403, response.text
    store = Store(api.settings.database_url)
    with store.session() as session:
        refused = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "access_refused").order_by(AuditEntry.seq)))[-2:]
    store.dispose()
    assert [e.referral_id for e in refused] == [None, None]
    assert [e.details["asked_sha256"] for e in refused] == [
        sha256_hex(asked.encode("utf-8")) for asked in ("R" * 150, "a\x00b")]
    assert not any("referral_id" in e.details for e in refused)


def test_the_x_api_key_header_works_like_the_bearer_token(api: ApiEnv) -> None:
    response = api.client.get("/v1/model", headers={"X-API-Key": api.keys["data_scientist"]})
    assert response.status_code == 200
    assert response.json()["version"] == "7"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operational_endpoints_need_no_key(api: ApiEnv, path: str) -> None:
    assert api.client.get(path).status_code == 200


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES, ids=ROUTE_IDS)
def test_the_openapi_schema_names_the_key_schemes_of_every_route(
    api: ApiEnv, method: str, path: str, body: Any, allowed: set[str]
) -> None:
    template = path.replace("R-none", "{referral_id}").replace("P-none", "{person_id}")
    operation = api.client.get("/openapi.json").json()["paths"][template][method.lower()]
    assert operation["security"] == [{"HTTPBearer": []}, {"APIKeyHeader": []}]


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_scoring_takes_either_key_header(api: ApiEnv, header: str) -> None:
    key = api.keys["triage"]
    value = f"Bearer {key}" if header == "Authorization" else key
    response = api.client.post("/v1/score", json=factories.case(), headers={header: value})
    assert response.status_code == 200, response.text


def test_scoring_checks_the_caller_before_the_body(api: ApiEnv) -> None:
    broken = {"referral": {"referral_id": "R-1"}}  # 422 for a caller who may score
    assert api.client.post("/v1/score", json=broken).status_code == 401
    assert api.client.post("/v1/score", json=broken,
                           headers=api.headers("governance")).status_code == 403
    assert api.client.post("/v1/score", json=broken,
                           headers=api.headers("triage")).status_code == 422


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe{"], ids=["not JSON", "not UTF-8"])
@pytest.mark.parametrize("path", ["/v1/decisions", "/v1/score/batch", "/v1/score",
                                  "/v1/models/1/approvals"])
def test_a_stranger_with_a_body_that_is_not_json_is_asked_for_a_key_first(
    api: ApiEnv, path: str, body: bytes
) -> None:
    """FastAPI decodes a body before it checks the caller: anyone got the 422 that
    describes the route's body; a user still gets it."""
    json_type = {"Content-Type": "application/json"}
    stranger = api.client.post(path, content=body, headers=json_type)
    assert stranger.status_code == 401 and stranger.headers["www-authenticate"] == "Bearer"
    user = api.client.post(path, content=body, headers={**json_type, **api.headers("admin")})
    assert user.status_code == 422, user.text


def _request_invalid_entries(api: ApiEnv) -> list[tuple[str, dict[str, Any]]]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        entries = [(entry.role, entry.details) for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "request_invalid")
            .order_by(AuditEntry.seq))]
    store.dispose()
    return entries


def test_a_users_body_refused_for_its_type_or_size_is_audited_as_a_422_is(api: ApiEnv) -> None:
    """A probe's 415s (no or a wrong Content-Type) and 413s (a body over the limit) left
    no entry where every 422 did: each is `request_invalid`, the field at fault named and
    no value kept, whether the refusal came before the route (the middleware), while
    FastAPI read the body (streamed), or from the route (a batch too large)."""
    over = b"x" * (api.settings.max_body_bytes + 1)

    def streamed() -> Any:
        yield over

    json_type = {"Content-Type": "application/json"}
    before = len(_request_invalid_entries(api))
    refusals = [
        (api.client.post("/v1/score", content=b"{}", headers={
            **api.headers("triage"), "Content-Type": "text/plain"}), 415),
        (api.client.post("/v1/decisions", content=b"{}", headers=api.headers("admin")), 415),
        (api.client.post("/v1/models/3/approvals", content=over, headers={
            **api.headers("governance"), **json_type}), 413),
        (api.client.post("/v1/decisions", content=streamed(), headers={
            **api.headers("triage"), **json_type}), 413),
        (api.client.post("/v1/score/batch", headers=api.headers("triage"), json={
            "cases": [{}] * (api.settings.max_batch_cases + 1)}), 413),
    ]
    assert [answer.status_code for answer, _ in refusals] == [code for _, code in refusals]
    assert _request_invalid_entries(api)[before:] == [
        ("triage", {"method": "POST", "route": "/v1/score", "fields": ["header.content-type"]}),
        ("admin", {"method": "POST", "route": "/v1/decisions",
                   "fields": ["header.content-type"]}),
        ("governance", {"method": "POST", "route": "/v1/models/{version}/approvals",
                        "fields": ["body"], "version": "3"}),
        ("triage", {"method": "POST", "route": "/v1/decisions", "fields": ["body"]}),
        ("triage", {"method": "POST", "route": "/v1/score/batch", "fields": ["body"]})]
    strangers = [api.client.post("/v1/score", content=b"{}", headers={
        "Content-Type": "text/plain", **key}) for key in ({}, {"X-API-Key": "dead.beef"})]
    assert [answer.status_code for answer in strangers] == [415, 415]
    assert len(_request_invalid_entries(api)) == before + len(refusals)  # strangers: none
