"""Subject access: every referral naming a person, for governance and admin, audited."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from api.store import AuditEntry, Store
from api.store.models import ReferralPerson
from tests.api import factories
from tests.api.conftest import ApiEnv


def _token() -> str:
    return f"T{uuid.uuid4().hex[:10]}"


def _score(api: ApiEnv, *, subject: str, household: str, member: str) -> str:
    case = factories.case(events=2, person_id=subject, household_id=household)
    case["household_members"] = [{"person_id": member, "role": "parent_carer"}]
    for event in case["events"]:
        event["person_id"] = subject
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 200, response.text
    return str(case["referral"]["referral_id"])


def _actions(api: ApiEnv, action: str) -> list[AuditEntry]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
    store.dispose()
    return rows


def test_a_person_in_two_households_sees_both_and_the_request_is_audited(api: ApiEnv) -> None:
    parent, first_household, second_household = _token(), _token(), _token()
    first = _score(api, subject=_token(), household=first_household, member=parent)
    second = _score(api, subject=_token(), household=second_household, member=parent)
    decision = factories.decision(first, practitioner_rag="amber", agrees_with_band=False,
                                  reason="school reports bruising")
    assert api.client.post("/v1/decisions", json=decision,
                           headers=api.headers("triage")).status_code == 201
    before = len(_actions(api, "subject_access"))
    response = api.client.get(f"/v1/subjects/{parent}", headers=api.headers("governance"))
    assert response.status_code == 200, response.text
    record = response.json()
    assert [r["referral_id"] for r in record["referrals"]] == [first, second]
    assert record["households"] == sorted([first_household, second_household])
    by_id = {r["referral_id"]: r for r in record["referrals"]}
    assert by_id[first]["roles"] == ["parent_carer"]
    assert by_id[first]["decisions"][0]["reason"] == "school reports bruising"
    assert by_id[first]["scores"][0]["result"]["model_version"]
    assert [e["action"] for e in by_id[first]["audit"]][:2] == ["score", "decision"]
    entries = _actions(api, "subject_access")
    assert len(entries) == before + 1 and entries[-1].details["person_id"] == parent


def test_the_html_form_reads_in_plain_language(api: ApiEnv) -> None:
    subject = _token()
    _score(api, subject=subject, household=_token(), member=_token())
    response = api.client.get(f"/v1/subjects/{subject}",
                              headers={**api.headers("admin"), "Accept": "text/html"})
    assert response.status_code == 200
    assert "the person the referral was about" in response.text
    assert "decision support" in response.text


def test_triage_and_data_scientist_keys_get_403(api: ApiEnv) -> None:
    for role in ("triage", "data_scientist"):
        response = api.client.get(f"/v1/subjects/{_token()}", headers=api.headers(role))
        assert response.status_code == 403


def test_a_malformed_token_is_refused(api: ApiEnv) -> None:
    response = api.client.get("/v1/subjects/not%20a%20token", headers=api.headers("governance"))
    assert response.status_code == 422


def test_the_command_writes_the_report_and_is_audited(api: ApiEnv, tmp_path: Path) -> None:
    member = _token()
    referral = _score(api, subject=_token(), household=_token(), member=member)
    output = tmp_path / "sar.html"
    output.write_text("an older report", encoding="utf-8")
    output.chmod(0o644)
    result = CliRunner().invoke(
        app, ["subject-access", "--person-id", member, "--output", str(output)],
        env={"SAFEGUARD_DATABASE_URL": api.settings.database_url,
             "SAFEGUARD_ENVIRONMENT": "test"})
    assert result.exit_code == 0, result.output
    assert f"1 referral naming {member}: {output}" in result.output  # "1 referrals" until 6 Dec
    assert "not searched: the agencies' extracts and files written by batch" in result.output
    assert referral in output.read_text()
    assert "<strong>Not searched</strong>: the agencies' extracts" in output.read_text()
    assert output.stat().st_mode & 0o777 == 0o600  # about a person: the owner's only
    assert any(e.details.get("person_id") == member for e in _actions(api, "subject_access"))
    assert [p.name for p in tmp_path.iterdir()] == ["sar.html"]  # no staged file left


def test_a_report_that_cannot_be_written_leaves_no_audit_entry(api: ApiEnv,
                                                                tmp_path: Path) -> None:
    member = _token()
    _score(api, subject=_token(), household=_token(), member=member)
    blocker, folder = tmp_path / "a_file", tmp_path / "a_folder.html"
    blocker.write_text("not a folder", encoding="utf-8")
    folder.mkdir()
    env = {"SAFEGUARD_DATABASE_URL": api.settings.database_url, "SAFEGUARD_ENVIRONMENT": "test"}
    for output in (blocker / "sar.html", folder):  # inside a file; a folder
        result = CliRunner().invoke(
            app, ["subject-access", "--person-id", member, "--output", str(output)], env=env)
        assert result.exit_code != 0
    assert not any(e.details.get("person_id") == member for e in _actions(api, "subject_access"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "a_folder.html"]
    assert not any(folder.iterdir())  # nothing left behind


def test_a_report_inside_a_file_is_refused_in_words(api: ApiEnv, tmp_path: Path) -> None:
    """`--output report.html/sar.html` read "error: report.html: File exists"."""
    blocker = tmp_path / "report.html"
    blocker.write_text("not a folder", encoding="utf-8")
    env = {"SAFEGUARD_DATABASE_URL": api.settings.database_url, "SAFEGUARD_ENVIRONMENT": "test"}
    result = CliRunner().invoke(
        app, ["subject-access", "--person-id", _token(), "--output", str(blocker / "sar.html")],
        env=env)
    assert result.exit_code == 1
    assert (f"{blocker / 'sar.html'}: cannot write there ({blocker} is not a folder this user "
            "can write to)") in " ".join(result.output.split())


def test_a_referral_keeps_its_subject_on_either_store(backend_api: ApiEnv) -> None:
    api, first, second = backend_api, _token(), _token()
    case = factories.case(events=1, person_id=first, household_id=_token())
    case["events"][0]["person_id"] = first
    triage = api.headers("triage")
    assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200
    assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200  # again
    rid = case["referral"]["referral_id"]
    moved = {**case, "referral": {**case["referral"], "person_id": second}}
    moved["events"] = [{**e, "person_id": second} for e in case["events"]]
    answer = api.client.post("/v1/score", json=moved, headers=triage)
    assert answer.status_code == 409 and "keeps its subject" in answer.json()["detail"]
    fresh = factories.case(events=1)
    other = {**fresh, "referral": {**fresh["referral"], "person_id": second}}
    other["events"] = [{**e, "person_id": second} for e in fresh["events"]]
    answer = api.client.post("/v1/score/batch", json={"cases": [other, moved]}, headers=triage)
    assert answer.status_code == 409, answer.text  # against the store
    within = api.client.post("/v1/score/batch", json={"cases": [fresh, other]}, headers=triage)
    assert within.status_code == 422, within.text  # a batch names each referral once
    assert [p["type"] for p in within.json()["detail"]] == ["repeated_case"]
    assert len(api.client.get(f"/v1/referrals/{rid}", headers=triage).json()["scores"]) == 2
    assert api.client.get(f"/v1/referrals/{fresh['referral']['referral_id']}",
                          headers=triage).status_code == 404  # nothing of either batch stored
    record = api.client.get(f"/v1/subjects/{second}", headers=api.headers("governance")).json()
    assert record["referrals"] == []


def test_a_member_sees_only_the_scores_whose_case_named_them(backend_api: ApiEnv) -> None:
    """A referral scored again with another household gave everyone in either household
    every score, with its explanation of the others' records; each score now keeps the
    people its case named (and the decisions made on it go with it)."""
    api, subject, sibling, newcomer = backend_api, _token(), _token(), _token()
    case = factories.case(events=1, person_id=subject, household_id=_token())
    case["events"][0]["person_id"] = subject
    case["household_members"] = [{"person_id": sibling, "role": "sibling"}]
    triage, governance = api.headers("triage"), api.headers("governance")
    assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200
    referral_id = case["referral"]["referral_id"]
    decision = factories.decision(referral_id, practitioner_rag="amber", agrees_with_band=False,
                                  reason="the first household")
    assert api.client.post("/v1/decisions", json=decision, headers=triage).status_code == 201
    case["household_members"] = [{"person_id": newcomer, "role": "parent_carer"}]
    assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200

    def held(person: str) -> tuple[list[int], list[str]]:
        [referral] = api.client.get(f"/v1/subjects/{person}",
                                    headers=governance).json()["referrals"]
        return ([s["id"] for s in referral["scores"]],
                [d["reason"] for d in referral["decisions"]])

    first, second = held(subject)[0]
    assert held(subject) == ([first, second], ["the first household"])
    assert held(sibling) == ([first], ["the first household"])
    assert held(newcomer) == ([second], [])


def test_a_household_member_named_a_subject_is_not_this_referrals_subject(
        backend_api: ApiEnv) -> None:
    """The household feed names every child referred a `subject`: a sibling so named is a
    member of this household, not this referral's subject, and scoring the case again is no
    change of subject (a load test's golden cases were refused so)."""
    api, subject, sibling = backend_api, _token(), _token()
    case = factories.case(events=1, person_id=subject, household_id=_token())
    case["events"][0]["person_id"] = subject
    case["household_members"] = [{"person_id": subject, "role": "subject"},
                                 {"person_id": sibling, "role": "subject"}]
    triage = api.headers("triage")
    for _ in range(2):
        assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200
    governance = api.headers("governance")
    record = api.client.get(f"/v1/subjects/{sibling}", headers=governance).json()
    assert [r["roles"] for r in record["referrals"]] == [["household_subject"]]
    mine = api.client.get(f"/v1/subjects/{subject}", headers=governance).json()
    assert {role for r in mine["referrals"] for role in r["roles"]} == {"subject"}


def test_the_upgrade_corrects_household_members_stored_as_the_subject(
        fresh_database_url: str) -> None:
    """Before migration 0009 a household member the feed named a subject was stored as the
    referral's subject too; the upgrade keeps each referral's first subject row's person
    as its subject and marks the others as household members who are subjects."""
    from alembic import command
    from sqlalchemy import insert

    from api.store.db import alembic_config, init_db
    from api.store.models import REFERRAL_PERSON_TABLE

    command.downgrade(alembic_config(fresh_database_url), "0008_ended_web_sessions")
    store = Store(fresh_database_url)
    rows = [("R-old", "P-subject", "subject"), ("R-old", "P-sibling", "subject"),
            ("R-old", "P-parent", "parent_carer"), ("R-old", "P-subject", "subject"),
            ("R-other", "P-sibling", "subject")]
    with store.engine.begin() as connection:
        connection.execute(insert(REFERRAL_PERSON_TABLE), [
            {"referral_id": r, "person_id": p, "role": role, "household_id": "H1"}
            for r, p, role in rows])
    store.dispose()
    init_db(fresh_database_url)
    store = Store(fresh_database_url)
    with store.session() as session:
        found = session.execute(select(ReferralPerson.referral_id, ReferralPerson.person_id,
                                       ReferralPerson.role).order_by(ReferralPerson.id)).all()
    store.dispose()
    assert [tuple(row) for row in found] == [
        ("R-old", "P-subject", "subject"), ("R-old", "P-sibling", "household_subject"),
        ("R-old", "P-parent", "parent_carer"), ("R-old", "P-subject", "subject"),
        ("R-other", "P-sibling", "subject")]


def test_a_household_members_report_marks_what_is_about_other_people(api: ApiEnv,
                                                                      tmp_path: Path) -> None:
    """A parent's report holds their child's referral: it is all there (the controller
    decides), but marked as about another person, to be reviewed before release."""
    parent, child = _token(), _token()
    about_child = _score(api, subject=child, household=_token(), member=parent)
    decision = factories.decision(about_child, practitioner_rag="amber", agrees_with_band=False,
                                  reason="school reports bruising")
    assert api.client.post("/v1/decisions", json=decision,
                           headers=api.headers("triage")).status_code == 201
    own = _score(api, subject=parent, household=_token(), member=_token())
    record = api.client.get(f"/v1/subjects/{parent}", headers=api.headers("governance")).json()
    assert [r["referral_id"] for r in record["referrals"]] == [own, about_child]
    mine, theirs = record["referrals"]
    assert mine["requester_is_subject"] and mine["release_review"] is None
    assert not theirs["requester_is_subject"] and theirs["roles"] == ["parent_carer"]
    assert theirs["release_review"] == "information about other people: review before release"
    assert theirs["decisions"][0]["reason"] == "school reports bruising"  # nothing dropped
    assert "review before release" in theirs["decisions"][0]["release_review"]
    assert record["third_party_referrals"] == 1
    factors = [f for r in record["referrals"] for s in r["scores"]
               for f in s["result"]["top_factors"]]
    assert factors and all("about" in f and "third_party" in f for f in factors)
    page = api.client.get(f"/v1/subjects/{parent}", headers={
        **api.headers("governance"), "Accept": "text/html"}).text
    own_at, others_at = page.index("Referrals about this person"), page.index(
        "Referrals about other people that name this person (1)")
    assert own_at < page.index(f"Referral {own}") < others_at < page.index(
        f"Referral {about_child}")
    assert "Information about other people: review before release: this referral was about " \
           "another person" in page


def test_escalations_that_may_rest_on_other_peoples_records_are_marked(api: ApiEnv) -> None:
    """An escalation rule reading household adults' records (DASH high-risk) is marked
    for review in the person's own referral, as a household factor is; one reading the
    subject's records only (a child protection plan) is not; in another's referral, all are."""
    parent, child = _token(), _token()
    events = [factories.event(event_type="dash_high_risk"),
              factories.event(agency="social_care", event_type="child_protection_plan")]
    for subject, member in ((parent, _token()), (child, parent)):
        case = factories.case(events=0, person_id=subject, household_id=_token())
        case["household_members"] = [{"person_id": member, "role": "parent_carer"}]
        case["events"] = [{**event, "person_id": subject} for event in events]
        assert api.client.post("/v1/score", json=case,
                               headers=api.headers("triage")).status_code == 200
    record = api.client.get(f"/v1/subjects/{parent}", headers=api.headers("governance")).json()
    mine, theirs = ({r["rule"]: (r["about"], r["third_party"])
                     for r in referral["scores"][0]["result"]["escalations"]}
                    for referral in record["referrals"])
    assert mine == {
        "current_child_protection_plan": ("the person", False),
        "recent_dash_high_risk": ("the person or other members of the household", True)}
    assert theirs["recent_dash_high_risk"] == (
        "the referral's subject, another person or the household, which includes the person "
        "and others", True)
    assert all(third_party for _, third_party in theirs.values())
    page = " ".join(api.client.get(f"/v1/subjects/{parent}", headers={
        **api.headers("governance"), "Accept": "text/html"}).text.split())
    assert ("the recent_dash_high_risk rule (about the person or other members of the "
            "household) <strong class=\"govuk-tag govuk-tag--orange\">May rest on information "
            "about other people: review before release</strong>") in page
    assert "the current_child_protection_plan rule (about the person)</li>" in page


def test_the_report_lists_the_audit_entries_that_name_the_person(api: ApiEnv) -> None:
    """Entries with no referral that name the person: a refused try at their record, an
    earlier subject access request."""
    person = _token()
    _score(api, subject=person, household=_token(), member=_token())
    refused = api.client.get(f"/v1/subjects/{person}", headers=api.headers("triage"))
    assert refused.status_code == 403
    first = api.client.get(f"/v1/subjects/{person}", headers=api.headers("governance")).json()
    assert [e["action"] for e in first["audit_naming_person"]] == ["access_refused"]
    second = api.client.get(f"/v1/subjects/{person}", headers=api.headers("admin")).json()
    assert [(e["action"], e["user"].split("-")[0]) for e in second["audit_naming_person"]] == [
        ("access_refused", "triage"), ("subject_access", "governance")]
    other = api.client.get(f"/v1/subjects/{_token()}", headers=api.headers("governance")).json()
    assert other["audit_naming_person"] == []


def test_entries_naming_a_person_are_found_through_the_index(store: Store) -> None:
    from sqlalchemy import text

    from api.subject_access import person_named

    named = person_named(store.engine.dialect.name)
    query = select(AuditEntry.seq).where(named == "P1").order_by(AuditEntry.seq)
    compiled = query.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as connection:
        if store.is_sqlite:
            plan = " ".join(str(row) for row in connection.execute(
                text(f"EXPLAIN QUERY PLAN {compiled}")))
        else:
            connection.execute(text("SET enable_seqscan = off"))
            plan = " ".join(str(row) for row in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_audit_entries_person" in plan, plan


def test_governance_settings_unreadable_since_start_up_flag_every_escalation(
        api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """The route read the escalation rules anew and answered 500 when the settings file
    had been broken since start-up; the record is owed, each escalation then marked."""
    from api.routes import subjects
    from model.governance import GovernanceError

    def unreadable(settings: object) -> dict[str, tuple[str, ...]]:
        raise GovernanceError("governance.toml: not valid TOML")

    parent = _token()
    case = factories.case(events=0, person_id=parent, household_id=_token())
    case["events"] = [{**factories.event(agency="social_care",
                                         event_type="child_protection_plan"),
                       "person_id": parent}]
    assert api.client.post("/v1/score", json=case,
                           headers=api.headers("triage")).status_code == 200
    monkeypatch.setattr(subjects, "rule_features", unreadable)
    response = api.client.get(f"/v1/subjects/{parent}", headers=api.headers("governance"))
    assert response.status_code == 200, response.text
    [escalation] = response.json()["referrals"][0]["scores"][0]["result"]["escalations"]
    assert escalation["third_party"] is True


def test_the_report_says_agencies_shared_nothing_not_that_they_hold_nothing(
    api: ApiEnv
) -> None:
    """It said "Agencies that held no records about the person or household": the service
    knows only what was shared with the referral (the case page says "No records were
    shared by"), and a person may read it as those agencies holding nothing about them."""
    subject = _token()
    _score(api, subject=subject, household=_token(), member=_token())
    html = api.client.get(f"/v1/subjects/{subject}",
                          headers={**api.headers("governance"), "Accept": "text/html"}).text
    said = " ".join(html.split())
    assert "held no records" not in said
    assert re.search(r"Agencies the explanation named as sharing no records about the "
                     r"person or household with this referral: [a-z ,]+\.", said), said
