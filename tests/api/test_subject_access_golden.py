"""Subject access finds a person in the registered model versions' golden sets.

It said "Referrals held: 0. The service holds no referral naming this person" for a
person whose referral, household and agency records a registered version keeps among its
reference cases (`risk_model/golden_cases.json`, re-scored on every load).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.store import AuditEntry, Store, init_db
from model.registry import ModelRegistry, RegistryUnavailable
from tests.api import factories
from tests.api.conftest import ApiEnv, empty_registry, issue_keys, make_settings, registry_settings
from tests.api.fakes import FakeScorer

DOWN_SERVER = "http://mlflow:s3cret-pw@127.0.0.1:5998"  # pragma: allowlist secret


def _token() -> str:
    return f"T{uuid.uuid4().hex[:10]}"


@dataclass
class People:
    """The tokens of a golden case: its subject, a parent, and a person with only an
    earlier referral and an agency record in it (a former household member)."""

    subject: str
    parent: str
    former: str


def _golden_case(people: People) -> dict[str, Any]:
    case = factories.case(events=0, person_id=people.subject, household_id=_token())
    case["household_members"] = [{"person_id": people.parent, "role": "parent_carer"}]
    case["events"] = [factories.event(person_id=people.subject),
                      factories.event(person_id=people.former, agency="health",
                                      event_type="ae_attendance", event_date="2023-11-04",
                                      recorded_date="2023-11-05")]
    case["previous_referrals"] = [{"referral_id": "R-earlier", "person_id": people.former,
                                   "referral_date": "2023-12-01"}]
    return {"payload": case, "expected": {"raw_score": 0.1, "probability": 0.2,
                                          "score": 7, "band": "medium"}}


def _register_golden(registry: ModelRegistry, cases: list[dict[str, Any]],
                     tmp_path: Path) -> str:
    """A registered version whose model folder holds only a golden set (all this reads)."""
    folder = tmp_path / uuid.uuid4().hex / "risk_model"
    folder.mkdir(parents=True)
    (folder / "golden_cases.json").write_text(json.dumps(cases), encoding="utf-8")
    run_id = registry.start_run("golden", run_name="golden")
    registry.log_files(run_id, folder, "risk_model")
    client = registry.client
    if not client.search_registered_models(f"name = '{registry.model_name}'"):
        client.create_registered_model(registry.model_name)
    source = f"{client.get_run(run_id).info.artifact_uri}/risk_model"
    return str(client.create_model_version(registry.model_name, source, run_id=run_id).version)


@dataclass
class GoldenEnv:
    api: ApiEnv
    registry: ModelRegistry
    people: People
    versions: list[str]


def _app(tmp_path: Path, **overrides: Any) -> Iterator[ApiEnv]:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    settings = make_settings(url, **overrides)
    keys, revoked = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        yield ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings)


@pytest.fixture
def golden(tmp_path: Path) -> Iterator[GoldenEnv]:
    """A service whose registry holds two versions: the first's golden set names the
    people of one case, the second's names nobody of them."""
    registry = empty_registry(tmp_path / "mlflow")
    people = People(_token(), _token(), _token())
    versions = [_register_golden(registry, [_golden_case(People(_token(), _token(), _token())),
                                            _golden_case(people)], tmp_path),
                _register_golden(registry, [_golden_case(People(_token(), _token(), _token()))],
                                 tmp_path)]
    for api in _app(tmp_path, **registry_settings(registry)):
        yield GoldenEnv(api, registry, people, versions)


def subject_access_entries(api: ApiEnv) -> list[AuditEntry]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        rows = list(session.scalars(select(AuditEntry)
                                    .where(AuditEntry.action == "subject_access")))
    store.dispose()
    return rows


def test_a_person_in_a_golden_set_is_reported_with_version_role_and_records(
        golden: GoldenEnv) -> None:
    api, people = golden.api, golden.people
    record = api.client.get(f"/v1/subjects/{people.subject}",
                            headers=api.headers("governance")).json()
    assert record["referrals"] == []
    found = record["model_golden_sets"]
    assert found["searched"] and found["versions_searched"] == golden.versions[::-1]
    [version] = found["versions"]
    assert version["version"] == golden.versions[0]
    [case] = version["cases"]
    assert case["roles"] == ["case_subject", "agency_records"]
    assert case["referral"]["person_id"] == people.subject and case["release_review"] is None
    assert case["expected_rating"] == {"score": 7, "band": "medium"}
    assert [r["event_type"] for r in case["agency_records"]] == ["domestic_abuse_incident"]
    assert found["purpose"].startswith("reference cases")

    former = api.client.get(f"/v1/subjects/{people.former}",
                            headers=api.headers("governance")).json()["model_golden_sets"]
    [case] = former["versions"][0]["cases"]
    assert case["roles"] == ["earlier_referral", "agency_records"]
    assert case["referral"] is None and case["release_review"]  # about another person
    assert case["earlier_referrals"] == [{"referral_id": "R-earlier",
                                          "referral_date": "2023-12-01"}]
    assert case["agency_records"] == [{"agency": "health", "event_type": "ae_attendance",
                                       "event_date": "2023-11-04",
                                       "recorded_date": "2023-11-05", "value": None}]

    html = api.client.get(f"/v1/subjects/{people.parent}",
                          headers={**api.headers("admin"), "Accept": "text/html"}).text
    assert f"Model version {golden.versions[0]}" in html
    assert "a parent or carer" in html and "scored again every time" in html
    assert "The service holds no referral naming this person" not in html
    details = subject_access_entries(api)[-1].details
    assert details["person_id"] == people.parent
    assert details["model_golden_sets"] == {"searched": True, "versions": golden.versions[::-1],
                                            "naming_person": [golden.versions[0]],
                                            "unreadable": []}


def test_a_person_in_no_golden_set_is_not_reported_in_one(golden: GoldenEnv) -> None:
    api, nobody = golden.api, golden.people.subject[:-1]  # a prefix of a token held
    record = api.client.get(f"/v1/subjects/{nobody}", headers=api.headers("governance")).json()
    assert record["model_golden_sets"]["searched"] is True
    assert record["model_golden_sets"]["versions"] == []
    html = api.client.get(f"/v1/subjects/{nobody}",
                          headers={**api.headers("governance"), "Accept": "text/html"}).text
    assert "None of the 2 registered model versions' reference cases names" in html


def test_the_command_reports_the_versions_naming_the_person(golden: GoldenEnv,
                                                             tmp_path: Path) -> None:
    output = tmp_path / "sar.html"
    env = {"SAFEGUARD_DATABASE_URL": golden.api.settings.database_url,
           "SAFEGUARD_ENVIRONMENT": "test",
           "SAFEGUARD_MLFLOW_TRACKING_URI": golden.registry.tracking_uri,
           "SAFEGUARD_MODEL_NAME": golden.registry.model_name}
    result = CliRunner().invoke(app, ["subject-access", "--person-id", golden.people.former,
                                      "--output", str(output)], env=env)
    assert result.exit_code == 0, result.output
    assert (f"named in the golden set (reference cases) of model version "
            f"{golden.versions[0]} (of 2 searched)") in result.output
    report = output.read_text(encoding="utf-8")
    assert "R-earlier" in report and "ae attendance of 2023-11-04" in report
    details = subject_access_entries(golden.api)[-1].details
    assert details["model_golden_sets"]["naming_person"] == [golden.versions[0]]


@pytest.fixture
def down(tmp_path: Path) -> Iterator[ApiEnv]:
    yield from _app(tmp_path, mlflow_tracking_uri=DOWN_SERVER)


def test_a_registry_that_is_down_is_said_not_read_as_nothing_held(down: ApiEnv,
                                                                   tmp_path: Path) -> None:
    person = _token()
    found = down.client.get(f"/v1/subjects/{person}",
                            headers=down.headers("governance")).json()["model_golden_sets"]
    assert found["searched"] is False and found["versions"] == []
    assert found["unavailable"] == RegistryUnavailable.WITHOUT_ADDRESS  # anyone's answer
    html = down.client.get(f"/v1/subjects/{person}",
                           headers={**down.headers("governance"), "Accept": "text/html"}).text
    assert "This record is incomplete" in html and "127.0.0.1" not in html
    assert subject_access_entries(down)[-1].details["model_golden_sets"] == {
        "searched": False, "reason": RegistryUnavailable.WITHOUT_ADDRESS}

    output = tmp_path / "sar.html"
    result = CliRunner().invoke(
        app, ["subject-access", "--person-id", person, "--output", str(output)],
        env={"SAFEGUARD_DATABASE_URL": down.settings.database_url,
             "SAFEGUARD_ENVIRONMENT": "test", "SAFEGUARD_MLFLOW_TRACKING_URI": DOWN_SERVER})
    assert result.exit_code == 0, result.output
    assert ("warning: model versions' golden sets not searched: the model registry at "
            "http://mlflow:***@127.0.0.1:5998 cannot be reached") in result.output
    assert "This record is incomplete" in output.read_text(encoding="utf-8")
    assert subject_access_entries(down)[-1].details["model_golden_sets"]["searched"] is False
