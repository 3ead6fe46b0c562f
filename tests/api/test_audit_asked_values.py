"""What the audit trail keeps of a value asked for in an address or a filter: a referral id
or person token as sent only when it has its shape and names something the store holds,
anything else as its SHA-256 (`asked_sha256`), since a caller may paste a key
(`<id>.<secret>`, a referral id's shape; its secret alone, a person token's) in the wrong
place, and the trail is append-only."""

from __future__ import annotations

import asyncio
import json
import re
from html import unescape
from urllib.parse import quote

import pytest

from api import access_refusals
from api.audit import sha256_hex
from api.store.models import AUDIT_TABLE, AuditEntry
from api.templating import case_path
from tests.api import factories
from tests.api.conftest import ApiEnv, issue_keys
from tests.api.web_client import (
    audit_entries_since,
    last_audit_seq,
    scored_referral,
    signed_in_client,
)

# A key's shape, as the probe sent it: not a person token (the dot), a referral id's shape.
KEY_SHAPED = "0123456789abcdef.ThisLooksLikeASecretKeyPastedByMistake_1234567"
TOO_LONG = "R" * 101  # past a referral id's 100 characters


def _digest(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))




def _as_text(entries: list[AuditEntry]) -> str:
    """Every column of the entries, as a search of the table would read them."""
    return json.dumps([{column.name: str(getattr(entry, column.name))
                        for column in AUDIT_TABLE.columns} for entry in entries])


def _kept(entry: AuditEntry) -> tuple[str, str | None, str | None, str | None]:
    """An entry's action, referral column, and the referral and digest its details keep."""
    return (entry.action, entry.referral_id, entry.details.get("referral_id"),
            entry.details.get("asked_sha256"))


def test_a_value_that_fails_its_pattern_is_kept_as_its_digest(backend_api: ApiEnv) -> None:
    """The probe's token shaped like a key was kept whole in a 422's entry, and a referral
    id over 100 characters in a refusal's, through the API and the case page alike."""
    api = backend_api
    browsers = {role: signed_in_client(api.client, api.keys[role])
                for role in ("triage", "data_scientist")}
    before = last_audit_seq(api)
    governance = api.headers("governance")
    assert api.client.get(f"/v1/subjects/{KEY_SHAPED}", headers=governance).status_code == 422
    asked = [api.client.get(f"/v1/referrals/{TOO_LONG}", headers=api.headers(role))
             for role in ("data_scientist", "triage")]
    asked += [browsers[role].get(f"/cases/{TOO_LONG}") for role in ("data_scientist", "triage")]
    assert [answer.status_code for answer in asked] == [403, 422, 403, 400]
    entries = audit_entries_since(api, before)
    assert [(e.action, e.role) for e in entries] == [
        ("request_invalid", "governance"), ("access_refused", "data_scientist"),
        ("request_invalid", "triage"), ("access_refused", "data_scientist"),
        ("request_invalid", "triage")]
    assert entries[0].details.get("asked_sha256") == _digest(KEY_SHAPED)
    assert "person_id" not in entries[0].details
    assert [_kept(e) for e in entries[1:]] == [
        (e.action, None, None, _digest(TOO_LONG)) for e in entries[1:]]
    text = _as_text(entries)
    assert KEY_SHAPED not in text and "R" * 100 not in text


def test_an_id_that_names_nothing_held_is_kept_as_its_digest(backend_api: ApiEnv) -> None:
    """A well-formed id may still be a pasted key: a view that found nothing (`found:
    false`), through the API or the case page, and a role's refusal of one, kept it in
    plain text in the entry's referral column; a key's secret alone is a person token.
    A referral the store holds is still named (the look-up, on either store)."""
    api = backend_api
    browser = signed_in_client(api.client, api.keys["triage"])
    secret = api.keys["admin"].split(".", 1)[1]
    held = scored_referral(api)
    before = last_audit_seq(api)
    assert api.client.get(f"/v1/referrals/{KEY_SHAPED}",
                          headers=api.headers("triage")).status_code == 404
    assert browser.get(case_path(KEY_SHAPED)).status_code == 404
    assert api.client.get(f"/v1/referrals/{KEY_SHAPED}",
                          headers=api.headers("data_scientist")).status_code == 403
    assert api.client.get(f"/v1/subjects/{secret}",
                          headers=api.headers("triage")).status_code == 403
    record = api.client.get(f"/v1/subjects/{secret}", headers=api.headers("governance"))
    assert record.status_code == 200 and record.json()["referrals"] == []
    assert api.client.get(f"/v1/referrals/{quote(held)}",
                          headers=api.headers("data_scientist")).status_code == 403
    entries = audit_entries_since(api, before)
    assert [_kept(e) for e in entries] == [
        ("case_view", None, None, _digest(KEY_SHAPED)),
        ("case_view", None, None, _digest(KEY_SHAPED)),
        ("access_refused", None, None, _digest(KEY_SHAPED)),
        ("access_refused", None, None, _digest(secret)),
        ("subject_access", None, None, _digest(secret)),
        ("access_refused", held, held, None)]
    assert [e.details["found"] for e in entries[:2]] == [False, False]
    assert not any("person_id" in e.details for e in entries)
    text = _as_text(entries)
    assert KEY_SHAPED not in text and secret not in text


def test_a_held_referral_keeps_its_id_and_its_search_finds_each_entry(api: ApiEnv) -> None:
    """A referral the store holds is named as before: its views and a role's refusal are
    found by the API's search by referral and on the governance audit page."""
    keys, _ = issue_keys(api.settings)  # the shared app's own may be revoked by now
    referral = scored_referral(api)
    assert api.client.get(f"/v1/referrals/{quote(referral)}",
                          headers=api.headers("triage")).status_code == 200
    assert signed_in_client(api.client, keys["triage"]).get(
        case_path(referral)).status_code == 200
    assert api.client.get(f"/v1/referrals/{quote(referral)}",
                          headers=api.headers("data_scientist")).status_code == 403
    searched = api.client.get("/v1/audit", params={"referral_id": referral},
                              headers=api.headers("governance"))
    assert searched.status_code == 200, searched.text
    found = searched.json()["entries"]
    assert [(e["action"], e["referral_id"]) for e in found] == [
        (action, referral) for action in ("score", "case_view", "case_view", "access_refused")]
    assert [e["details"].get("found") for e in found[1:3]] == [True, True]
    page = signed_in_client(api.client, keys["governance"]).get(
        "/governance/audit", params={"referral_id": referral})
    assert page.status_code == 200
    rows = re.findall(r"<td class=\"govuk-table__cell\">([a-z ]+)</td>", page.text)
    assert rows == ["score", "case view", "case view", "access refused", "audit view"]
    assert unescape(page.text).count(f">{referral}</a>") == 5  # the API's search names it


def test_a_person_held_is_named_and_their_report_lists_the_entries(api: ApiEnv) -> None:
    """The subject access report still finds the entries that name a person the store
    holds: a refused try at their record and an earlier request."""
    person = f"T{factories.referral_id()[2:]}"
    case = factories.case(person_id=person)
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    assert api.client.get(f"/v1/subjects/{person}",
                          headers=api.headers("triage")).status_code == 403
    first = api.client.get(f"/v1/subjects/{person}", headers=api.headers("governance")).json()
    second = api.client.get(f"/v1/subjects/{person}", headers=api.headers("admin")).json()
    assert [e["action"] for e in first["audit_naming_person"]] == ["access_refused"]
    assert [e["action"] for e in second["audit_naming_person"]] == [
        "access_refused", "subject_access"]
    assert [r["referral_id"] for r in second["referrals"]] == [case["referral"]["referral_id"]]


def test_a_version_filter_that_is_no_version_number_is_kept_as_its_digest(
        api: ApiEnv) -> None:
    """A search's referral and user were hashed when the store did not hold them, its
    version filter was kept as typed, in the entry's column too."""
    pasted = api.keys["triage"]
    before = last_audit_seq(api)
    searched = api.client.get("/v1/audit", params={"model_version": pasted},
                              headers=api.headers("governance"))
    assert searched.status_code == 200 and searched.json()["entries"] == []
    numbered = api.client.get("/v1/audit", params={"model_version": "7"},
                              headers=api.headers("governance"))
    assert numbered.status_code == 200
    views = audit_entries_since(api, before)
    assert [(e.model_version, e.details["search"]) for e in views] == [
        (None, {"model_version_sha256": _digest(pasted)}), ("7", {"model_version": "7"})]
    assert pasted not in _as_text(views)


def test_a_refusals_look_up_waits_off_the_event_loop_on_a_server_database(
        backend_api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused form's and a refused request's look-up of the referral they named ran on
    the event loop: on PostgreSQL every other request waited on it. It runs where
    `Store.run` puts a read: inline on SQLite, in the thread pool on a server database."""
    api = backend_api
    on_loop: list[bool] = []

    def looked_up(store, asked):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return held_asked(store, asked)

    held_asked = access_refusals.held_asked
    monkeypatch.setattr(access_refusals, "held_asked", looked_up)
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    before = last_audit_seq(api)
    form = {"practitioner_rag": "red", "next_step": "strategy discussion", "csrf_token": "x"}
    assert browser.post(case_path(referral) + "/decisions", data=form).status_code == 403
    assert api.client.get(f"/v1/referrals/{quote(referral)}",
                          headers=api.headers("data_scientist")).status_code == 403
    assert [_kept(e) for e in audit_entries_since(api, before)] == [
        ("form_refused", referral, referral, None),
        ("access_refused", referral, referral, None)]
    assert len(on_loop) == 2
    assert on_loop == [api.settings.database_url.startswith("sqlite")] * 2
