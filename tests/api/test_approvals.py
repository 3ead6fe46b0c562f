"""The approval gate: governance users approve a version's exact content, waiving by name
the thresholds it misses; promote, rollback and the service refuse anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from api.approvals import gate_problem
from api.audit import sha256_hex
from api.cli import app as safeguard
from api.model_card import log_card
from api.model_scorer import load_scorer
from api.settings import Settings, board_thresholds
from api.store import AuditEntry, Store
from api.store.models import ModelApproval
from model.acceptance import unmet
from model.approval_hint import approval_hint
from model.card import acceptance_checks
from model.card_sources import read_sources
from model.registry import CHECKSUM_TAG, ModelRegistry
from tests.api.conftest import (
    TEST_PEPPER,
    ApiEnv,
    TrainedModel,
    issue_keys,
    make_settings,
    record_test_approval,
    register_copy,
    registry_settings,
    stricter_board,
)
from tests.api.fakes import FakeScorer
from tests.api.test_model_commands import Run, audit_entries, registry, run  # noqa: F401
from tests.api.test_model_loading import artifact_file, assert_not_ready, settings_for
from tests.model.fairness_fixture import fair_report

NO_AUDIT_THRESHOLDS = {"max_selection_rate_disparity", "max_false_positive_rate_disparity",
                       "max_true_positive_rate_disparity", "max_group_calibration_gap"}


def _copy(folder: Path, trained_model: TrainedModel, *, alias: str | None = None
          ) -> ModelRegistry:
    """The trained model as version 1 of a store of its own, with its card logged."""
    model = trained_model.loaded
    copy = register_copy(folder, model.model, model.golden, alias=alias)[0]
    log_card(copy, copy.resolve("1"), board=None)
    return copy


def _waive_all(models: ModelRegistry, version: str = "1") -> dict[str, str]:
    return {c.name: f"{c.name} waived: small synthetic extract"
            for c in unmet(acceptance_checks(read_sources(models, version)))}


def _governed(database_url: str, tmp_path: Path, trained_model: TrainedModel
              ) -> tuple[ModelRegistry, Settings, dict[str, str], dict[str, str]]:
    """Version 1 in a store of its own, the service's settings, a key per role, and a
    waiver for each threshold the version misses."""
    copy = _copy(tmp_path / "mlflow", trained_model)
    settings = make_settings(database_url, **registry_settings(copy))
    keys, _ = issue_keys(settings)
    return copy, settings, keys, _waive_all(copy)


def test_governance_approves_over_the_api_waiving_each_unmet_threshold_by_name(
    fresh_database_url: str, tmp_path: Path, trained_model: TrainedModel
) -> None:
    copy, settings, keys, waivers = _governed(fresh_database_url, tmp_path, trained_model)
    url = "/v1/models/1/approvals"
    assert set(waivers) >= NO_AUDIT_THRESHOLDS  # no fairness audit: those fail
    with TestClient(create_app(settings, FakeScorer())) as client:
        governance = {"Authorization": f"Bearer {keys['governance']}"}
        for role in ("triage", "data_scientist", "admin"):
            refused = client.post(url, json={"decision": "approve", "reason": "fine"},
                                  headers={"Authorization": f"Bearer {keys[role]}"})
            assert refused.status_code == 403, role
        missing = client.post(url, json={"decision": "approve", "reason": "fine"},
                              headers=governance)
        assert missing.status_code == 422
        assert "max_selection_rate_disparity" in missing.json()["detail"][0]["message"]
        unknown = client.post(url, headers=governance, json={
            "decision": "approve", "reason": "fine", "waivers": {**waivers, "speed": "x"}})
        assert unknown.status_code == 422 and "no threshold called speed" in unknown.text
        assert client.post("/v1/models/9/approvals", headers=governance, json={
            "decision": "reject", "reason": "no"}).status_code == 404
        approved = client.post(url, headers=governance, json={
            "decision": "approve", "reason": "the board met on 4 December", "waivers": waivers})
        assert approved.status_code == 201, approved.text
    body = approved.json()
    assert body["model_sha256"] == copy.resolve("1").tags[CHECKSUM_TAG]
    assert body["fairness_sha256"] is None and len(body["card_sha256"]) == 64
    store = Store(fresh_database_url)
    with store.session() as session:
        assert gate_problem(session, copy, "1", board=None) is None
        entries = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(("model_approve", "model_waiver"))).order_by(AuditEntry.seq)))
    store.dispose()
    assert [e.action for e in entries] == ["model_approve"] + ["model_waiver"] * len(waivers)
    assert {e.user_name for e in entries} == {body["user_name"]}
    assert body["user_name"].startswith("governance-") and entries[0].role == "governance"
    assert {e.details["threshold"] for e in entries[1:]} == set(waivers)


def test_an_approval_says_something_and_odd_version_numbers_are_not_found(
    fresh_database_url: str, tmp_path: Path, trained_model: TrainedModel
) -> None:
    _, settings, keys, waivers = _governed(fresh_database_url, tmp_path, trained_model)
    name = sorted(waivers)[0]
    with TestClient(create_app(settings, FakeScorer())) as client:
        governance = {"Authorization": f"Bearer {keys['governance']}"}
        for body in ({"decision": "reject", "reason": "\u200b \ufeff"},
                     {"decision": "reject", "reason": "no\x00good"},
                     {"decision": "approve", "reason": "fine",
                      "waivers": {**waivers, name: "\u200b"}},
                     {"decision": "approve", "reason": "fine",
                      "waivers": {**waivers, name: "ok\x00"}},
                     {"decision": "approve", "reason": "fine",
                      "waivers": {**waivers, name: "x" * 2_001}}):
            refused = client.post("/v1/models/1/approvals", json=body, headers=governance)
            assert refused.status_code == 422, (body, refused.text)
        for version in ("99999999999999999999", "2147483648", "\u0663", "\u00b2", "0"):
            for method, path in (("GET", "card"), ("POST", "approvals")):
                answer = client.request(method, f"/v1/models/{version}/{path}",
                                        headers=governance,
                                        json={"decision": "reject", "reason": "no"})
                assert answer.status_code == 404, (version, path, answer.text)
        # A decision names its version by number: an alias, `latest` or "01" could name
        # another version than the card the board read (the card itself may be read so).
        for version in ("latest", "01", "champion"):
            answer = client.post(f"/v1/models/{version}/approvals", headers=governance,
                                 json={"decision": "reject", "reason": "no"})
            assert answer.status_code == 404, (version, answer.text)
            assert "by its number" in answer.text
    store = Store(fresh_database_url)
    with store.session() as session:
        assert list(session.scalars(select(ModelApproval))) == []
    store.dispose()


def _approval_rows(database_url: str) -> list[ModelApproval]:
    store = Store(database_url)
    with store.session() as session:
        rows = list(session.scalars(select(ModelApproval)))
    store.dispose()
    return rows


def test_a_threshold_waived_twice_in_the_body_is_refused_not_replaced(
    fresh_database_url: str, tmp_path: Path, trained_model: TrainedModel
) -> None:
    _, settings, keys, waivers = _governed(fresh_database_url, tmp_path, trained_model)
    name = sorted(waivers)[0]
    pairs = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in [*waivers.items(), (name, "other")]]
    twice = '{"decision": "approve", "reason": "fine", "waivers": {' + ", ".join(pairs) + "}}"
    reason_twice = ('{"decision": "approve", "reason": "fine", "reason": "other", "waivers": '
                    + json.dumps(waivers) + "}")
    url, as_json = "/v1/models/1/approvals", {"Content-Type": "application/json"}
    with TestClient(create_app(settings, FakeScorer())) as client:
        assert client.post(url, content=twice, headers=as_json).status_code == 401
        governance = {**as_json, "Authorization": f"Bearer {keys['governance']}"}
        refused = client.post(url, content=twice, headers=governance)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["detail"]
        assert error["field"] == "waivers"
        assert error["message"] == (f"{name} is waived more than once: waive each threshold "
                                    "once, with one reason")
        refused = client.post(url, content=reason_twice, headers=governance)
        assert refused.status_code == 422 and "names reason more than once" in refused.text
    assert _approval_rows(fresh_database_url) == []


def test_the_command_line_refuses_a_threshold_waived_twice(
    run: Run, registry: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    assert run("db", "upgrade")[0] == 0
    log_card(registry, registry.resolve("1"), board=None)
    keys, _ = issue_keys(make_settings(f"sqlite:///{tmp_path / 'api.db'}"))
    monkeypatch.setenv("SAFEGUARD_API_KEY", keys["governance"])
    waives = [f"--waive={name}={why}" for name, why in _waive_all(registry).items()]
    code, output = run("model", "approve", "1", "--reason", "board of 4 December", *waives,
                       "--waive", "max_selection_rate_disparity=other")
    assert code == 1 and output == ("error: --waive: max_selection_rate_disparity is waived "
                                    "more than once: waive each threshold once, with one "
                                    "reason\n"), output
    assert _approval_rows(f"sqlite:///{tmp_path / 'api.db'}") == []


def _write_key(tmp_path: Path, key: str) -> str:
    path = tmp_path / "key"
    path.write_text(key + "\n", encoding="utf-8")
    return str(path)


def test_promote_refuses_without_an_approval_and_the_cli_approves_as_a_governance_user(
    run: Run, registry: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # The audit chain anchored, as `make demo` and a hub run it: every entry the
    # commands append (the approval's too) is signed.
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    assert run("audit", "init-key")[0] == 0
    assert run("db", "upgrade")[0] == 0
    log_card(registry, registry.resolve("1"), board=None)
    code, output = run("model", "promote", "1")
    assert code == 1 and "has no recorded approval" in output
    assert audit_entries(tmp_path)[-1].action == "model_promote_refused"
    keys, _ = issue_keys(make_settings(f"sqlite:///{tmp_path / 'api.db'}"))
    code, output = run("model", "approve", "1", "--reason", "ok")
    assert code == 1 and "SAFEGUARD_API_KEY" in output  # never a key on the command line
    for role, decision in (("triage", "approve"), ("data_scientist", "approve"),
                           ("data_scientist", "reject")):
        code, output = run("model", decision, "1", "--reason", "ok",
                           "--key-file", _write_key(tmp_path, keys[role]))
        assert code == 1 and f"role {role!r} may not approve" in output
        # Audited as the API's 403 for the same act is (it was not).
        refused = audit_entries(tmp_path)[-1]
        assert (refused.action, refused.role, refused.model_version) == (
            "access_refused", role, "1")
        assert refused.user_name.startswith(f"{role}-")
        assert refused.details == {"command": f"model {decision}", "allowed": ["governance"],
                                   "version": "1"}
    monkeypatch.setenv("SAFEGUARD_API_KEY", keys["governance"])
    code, output = run("model", "approve", "1", "--reason", "ok")
    assert code == 1 and "Waive each by name" in output
    waives = [f"--waive={name}={why}" for name, why in _waive_all(registry).items()]
    code, output = run("model", "approve", "1", "--reason", "board of 4 December", *waives)
    assert code == 0 and "approved by governance-" in output, output
    code, output = run("model", "promote", "1")
    assert code == 0, output
    actions = [(e.action, e.user_name.split("-")[0]) for e in audit_entries(tmp_path)]
    assert ("model_approve", "governance") in actions and ("model_waiver", "governance") in actions
    assert actions[-1][0] == "model_promote"
    code, output = run("audit", "verify")
    assert code == 0 and "OK:" in output, output
    assert all(e.entry_mac for e in audit_entries(tmp_path))


def test_promote_refuses_an_approval_that_does_not_waive_a_threshold_not_met(
    run: Run, registry: ModelRegistry, tmp_path: Path  # noqa: F811
) -> None:
    run("db", "upgrade")
    log_card(registry, registry.resolve("1"), board=None)
    record_test_approval(f"sqlite:///{tmp_path / 'api.db'}", registry, "1")
    store = Store(f"sqlite:///{tmp_path / 'api.db'}")
    with store.session() as session:  # an approval without the waivers (not via the API)
        row = session.scalars(select(ModelApproval)).one()
        session.add(ModelApproval(**{**{c: getattr(row, c) for c in (
            "model_name", "model_version", "decision", "reason", "user_name", "model_sha256",
            "fairness_sha256", "card_sha256", "sources_sha256")}, "waivers": {}}))
        session.commit()
    store.dispose()
    code, output = run("model", "promote", "1")
    # a copy has no run metrics and no fairness audit: nothing is measured, all must be waived
    assert code == 1 and "does not meet min_roc_auc (required >= 0.7; not measured)" in output
    assert "max_selection_rate_disparity (required <= 1.25; no fairness audit recorded)" \
        in output and "its approval does not waive it" in output
    assert registry.list_versions()[0].aliases == ()


@pytest.mark.parametrize(("changed", "named"), [
    ("model folder", "model folder and risk_model/risk_model.json"),
    ("fairness report", "fairness/fairness.json")])
def test_an_approval_is_void_once_the_content_it_names_changes(
    run: Run, registry: ModelRegistry, tmp_path: Path, changed: str, named: str  # noqa: F811
) -> None:
    run("db", "upgrade")
    folder = tmp_path / "fairness"
    folder.mkdir()
    (folder / "fairness.json").write_text(json.dumps(fair_report()), encoding="utf-8")
    registry.log_files(registry.resolve("1").run_id, folder, "fairness")
    record_test_approval(f"sqlite:///{tmp_path / 'api.db'}", registry, "1")
    if changed == "model folder":  # edited in the artifact store after the approval
        stored = artifact_file(registry, "risk_model.json")
    else:
        [stored] = Path(str(registry.artifact_root)).rglob("fairness/fairness.json")
    stored.write_text(stored.read_text(encoding="utf-8") + " ", encoding="utf-8")
    code, output = run("model", "promote", "1")
    assert code == 1 and f"is void: its {named} changed since it was approved" in output
    entry = audit_entries(tmp_path)[-1]
    assert entry.action == "model_promote_refused" and named in entry.details["reason"]


def test_rollback_refuses_a_previous_champion_that_was_rejected_since(
    run: Run, registry: ModelRegistry, tmp_path: Path, trained_model: TrainedModel,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run("db", "upgrade")
    url = f"sqlite:///{tmp_path / 'api.db'}"
    model = trained_model.loaded
    registry.register(registry.start_run("t", run_name="second"), model.model, model.golden,
                      description="a second version")
    for version in ("1", "2"):
        record_test_approval(url, registry, version)
        assert run("model", "promote", version)[0] == 0
    keys, _ = issue_keys(make_settings(url))
    monkeypatch.setenv("SAFEGUARD_API_KEY", keys["governance"])
    code, output = run("model", "reject", "1", "--reason", "the audit found a fault")
    assert code == 0 and "rejected by" in output
    code, output = run("model", "rollback")
    assert code == 1 and "version 1 was rejected by governance on " in output
    assert "governance-" not in output
    assert registry.resolve("champion").version == "2"
    assert audit_entries(tmp_path)[-1].action == "model_rollback_refused"


def test_the_service_does_not_serve_a_champion_without_a_valid_approval(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    copy = _copy(tmp_path / "mlflow", trained_model, alias="champion")
    settings = settings_for(tmp_path, copy)
    assert_not_ready(settings, "version 1 has no recorded approval")
    record_test_approval(settings.database_url, copy, "1")
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        rejected = client.post("/v1/models/1/approvals", json={
            "decision": "reject", "reason": "withdrawn: ask jane.doe@example.org"},
            headers={"Authorization": f"Bearer {keys['governance']}"})
        assert rejected.status_code == 201
    assert_not_ready(settings, "version 1 was rejected by governance on ")
    # The free-text reason may name a person: /readyz answers anyone.
    assert "jane.doe" not in load_scorer(settings).readiness()[1]


def test_a_threshold_looser_than_the_boards_is_judged_at_the_boards_over_the_api(
    fresh_database_url: str, tmp_path: Path, trained_model: TrainedModel
) -> None:
    board_file, name = stricter_board(trained_model, tmp_path)
    models, version = trained_model.registry, trained_model.version
    as_trained = {c.name: "small synthetic extract"
                  for c in unmet(acceptance_checks(read_sources(models, version)))}
    assert name not in as_trained
    settings = make_settings(fresh_database_url, governance_settings_path=board_file,
                             **trained_model.settings_overrides())
    keys, _ = issue_keys(settings)
    governance = {"Authorization": f"Bearer {keys['governance']}"}
    url = f"/v1/models/{version}/approvals"
    with TestClient(create_app(settings, FakeScorer())) as client:
        refused = client.post(url, headers=governance, json={
            "decision": "approve", "reason": "the board met", "waivers": as_trained})
        card = client.get(f"/v1/models/{version}/card",
                          headers={**governance, "Accept": "application/json"}).json()
        approved = client.post(url, headers=governance, json={
            "decision": "approve", "reason": "the board met",
            "waivers": {**as_trained, name: "the board accepts it for the pilot"}})
    assert refused.status_code == 422
    message = refused.json()["detail"][0]["message"]
    assert "does not meet 1 acceptance threshold:\n" in message
    assert f"\n- {name} (required" in message
    assert "the board's threshold: the version was trained under" in message
    [shown] = [c for c in card["acceptance"] if c["name"] == name]
    assert not shown["met"] and "the version was trained under" in shown["detail"]
    assert approved.status_code == 201, approved.text
    store = Store(fresh_database_url)
    with store.session() as session:
        assert gate_problem(session, models, version, board=board_thresholds(settings)) is None
    store.dispose()


def test_promote_and_approve_judge_against_the_boards_settings_in_force(
    trained_model: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An approval recorded against the version's own thresholds does not carry it past a
    board whose thresholds are stricter; the command line says which, and what to waive."""
    board_file, name = stricter_board(trained_model, tmp_path)
    models, version = trained_model.registry, trained_model.version
    url = f"sqlite:///{tmp_path / 'api.db'}"
    for variable, value in {"SAFEGUARD_DATABASE_URL": url, "SAFEGUARD_API_KEY_PEPPER": TEST_PEPPER,
                            "SAFEGUARD_MLFLOW_TRACKING_URI": models.tracking_uri,
                            "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(models.artifact_root),
                            "SAFEGUARD_MODEL_NAME": models.model_name}.items():
        monkeypatch.setenv(variable, value)
    runner = CliRunner()

    def command(*args: str) -> tuple[int, str]:
        result = runner.invoke(safeguard, list(args))
        return result.exit_code, result.output

    assert command("db", "upgrade")[0] == 0
    record_test_approval(url, models, version)  # each threshold it misses as trained waived
    monkeypatch.setenv("SAFEGUARD_GOVERNANCE_SETTINGS_PATH", str(board_file))
    code, output = command("model", "promote", version)
    assert code == 1 and f"does not meet {name} (required" in output, output
    assert "trained under" in output and "its approval does not waive it" in output
    keys, _ = issue_keys(make_settings(url))
    monkeypatch.setenv("SAFEGUARD_API_KEY", keys["governance"])
    board = board_thresholds(Settings())
    missed = [c.name for c in unmet(acceptance_checks(read_sources(models, version),
                                                      board=board))]
    assert name in missed
    waives = [f"--waive={n}=small extract" for n in missed if n != name]
    code, output = command("model", "approve", version, "--reason", "board of 6 December", *waives)
    # One line for the threshold the approval does not waive, after how many there are.
    assert code == 1 and "does not meet 1 acceptance threshold:\n" in output, output
    assert f"\n- {name} (required" in output and "trained under" in output, output
    code, output = command("model", "approve", version, "--reason", "board of 6 December", *waives,
                       f"--waive={name}=accepted for the pilot")
    assert code == 0 and f"waived {name}: accepted for the pilot" in output, output
    hint = approval_hint(models, version, board=board)
    assert f'--waive "{name}=..."' in hint
    assert f'--waive "{name}=..."' not in approval_hint(models, version, board=None)


def _entries(database_url: str, action: str) -> list[AuditEntry]:
    store = Store(database_url)
    with store.session() as session:
        entries = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == action).order_by(AuditEntry.seq)))
    store.dispose()
    return entries


def test_a_decision_on_a_version_not_registered_is_audited(api: ApiEnv) -> None:
    """A card read that finds nothing is in the trail (found: false); a decision posted on
    a version the registry does not have answered 404 and entered nothing: who tried to
    approve which version, and when, was lost."""
    typed = "ab12cd34-not-a-version"  # an alias no version has: kept hashed
    for version, decision in (("997", "approve"), (typed, "reject")):
        answer = api.client.post(f"/v1/models/{version}/approvals",
                                 headers=api.headers("governance"),
                                 json={"decision": decision, "reason": "board of 4 December"})
        assert answer.status_code == 404, answer.text

    refused = _entries(api.settings.database_url, "model_decision_refused")[-2:]
    assert [(e.role, e.model_version, e.details) for e in refused] == [
        ("governance", "997", {"model_version": "997", "decision": "approve", "found": False}),
        ("governance", None, {"asked_sha256": sha256_hex(typed.encode("utf-8")),
                              "decision": "reject", "found": False})]
    assert all(e.user_name.startswith("governance-") for e in refused)


def test_the_command_line_audits_a_decision_on_a_version_not_registered(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    assert run("db", "upgrade")[0] == 0
    keys, _ = issue_keys(make_settings(f"sqlite:///{tmp_path / 'api.db'}"))
    monkeypatch.setenv("SAFEGUARD_API_KEY", keys["governance"])

    code, output = run("model", "reject", "7", "--reason", "board of 4 December")

    assert code == 1, output
    refused = audit_entries(tmp_path)[-1]
    assert (refused.action, refused.role, refused.model_version, refused.details) == (
        "model_decision_refused", "governance", "7",
        {"model_version": "7", "decision": "reject", "found": False})
    assert refused.user_name.startswith("governance-")
