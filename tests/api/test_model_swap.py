"""Promotion without a restart: a served app under load swaps in the new champion (and
back on rollback) without a failed request, and never swaps in a version that fails its
checks."""

from __future__ import annotations

import getpass
import json
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from api.live_model import LiveScorer
from api.model_scorer import load_scorer
from api.store import AuditEntry, Store, init_db
from tests.api.conftest import (
    TrainedModel,
    issue_keys,
    make_settings,
    record_test_approval,
    register_copy,
    registry_settings,
)
from tests.api.served import SAFEGUARD, call, service_env, serving
from tests.api.test_model_loading import settings_for


def _swaps(url: str) -> list[tuple[str | None, int]]:
    """(version swapped in, worker pid) of every `model_swap` audit entry, in order."""
    store = Store(url)
    with store.session() as session:
        swaps = [(entry.model_version, entry.details["pid"]) for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "model_swap")
            .order_by(AuditEntry.seq))]
    store.dispose()
    return swaps


def test_promote_and_rollback_swap_the_served_model_under_load_without_a_failed_request(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    model = trained_model.loaded
    registry, _ = register_copy(tmp_path / "mlflow", model.model, model.golden)
    registry.register(registry.start_run("t", run_name="second"), model.model, model.golden,
                      description="the next version")
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    for version in ("1", "2"):
        record_test_approval(url, registry, version)
    keys, _ = issue_keys(make_settings(url, **registry_settings(registry)))
    env = service_env(url, registry, SAFEGUARD_MODEL_REFRESH_SECONDS="1")
    golden = [case["payload"] for case in model.golden]
    answered: Counter[tuple[int, str]] = Counter()
    stop = threading.Event()

    def client(offset: int) -> None:
        number = offset
        while not stop.is_set():
            status, body = call(f"{served.base}/v1/score", body=golden[number % len(golden)],
                                key=keys["triage"])
            answered[status, json.loads(body).get("model_version", "") if status == 200
                     else body] += 1
            number += 1

    with serving(env, tmp_path / "serve.log", "--workers", "2") as served:
        served.until(served.ready, seconds=240)
        served.until(lambda: len(served.worker_starts()) >= 2)
        clients = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for thread in clients:
            thread.start()
        try:
            time.sleep(2)
            for command, version, swaps in (("promote", "2", 2), ("rollback", "1", 4)):
                done = subprocess.run([str(SAFEGUARD), "model", command,
                                       *(["2"] if command == "promote" else [])],
                                      env=env, capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, done.stderr
                served.until(lambda n=swaps: len(_swaps(url)) >= n, seconds=240)
                assert [v for v, _ in _swaps(url)[-2:]] == [version, version]
                assert {pid for _, pid in _swaps(url)[-2:]} == set(served.worker_starts())
                time.sleep(2)  # scoring goes on with the new version
                info = json.loads(call(f"{served.base}/v1/model", key=keys["triage"])[1])
                assert (info["version"], info["served_alias"]) == (version, "champion")
        finally:
            stop.set()
            for thread in clients:
                thread.join(timeout=120)
    assert {status for status, _ in answered} == {200}, answered
    assert {version for _, version in answered} == {"1", "2"}, answered
    assert answered[200, "2"] > 0 and sum(answered.values()) > 50


def test_a_promoted_version_that_fails_its_checks_is_never_swapped_in(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    model = trained_model.loaded
    registry, _ = register_copy(tmp_path / "mlflow", model.model, model.golden)
    damaged = [{**case, "expected": {**case["expected"], "score": -1}} if n == 0 else case
               for n, case in enumerate(model.golden)]
    bad = registry.register(registry.start_run("t", run_name="bad"), model.model, damaged,
                            description="does not reproduce its golden set").version
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    for version in ("1", bad):  # approved: its content is what fails
        record_test_approval(url, registry, version)
    settings = make_settings(url, **registry_settings(registry))
    live = LiveScorer(settings, load_scorer(settings))
    assert live.version == "1"
    registry.promote(bad, "champion")  # behind the command's back: the worker checks too
    assert not live.refresh(registry)
    assert live.version == "1" and live.readiness()[0]
    assert not live.refresh(registry)  # not tried again
    registry.promote("1", "champion")
    assert not live.refresh(registry)
    assert _swaps(url) == []
    store = Store(url)
    with store.session() as session:
        refusals = [(e.model_version, e.details["reason"]) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "model_swap_refused"))]
    store.dispose()
    assert [version for version, _ in refusals] == [bad]  # audited once
    assert "golden" in refusals[0][1]


def test_a_rejected_champion_is_withdrawn_and_an_approval_serves_it_without_a_restart(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    from api.approvals import record_decision
    from api.roles import GOVERNANCE
    from api.scoring import ModelUnavailable

    model = trained_model.loaded
    registry, _ = register_copy(tmp_path / "mlflow", model.model, model.golden)
    settings = settings_for(tmp_path, registry)
    url = settings.database_url
    live = LiveScorer(settings, load_scorer(settings))  # started before any approval
    assert not live.readiness()[0] and "has no recorded approval" in live.readiness()[1]
    assert not live.refresh(registry) and not live.refresh(registry)
    record_test_approval(url, registry, "1")
    assert live.refresh(registry) and live.version == "1" and live.readiness()[0]
    assert not live.refresh(registry)  # still approved: nothing to do
    store = Store(url)
    with store.session() as session:
        record_decision(session, registry, user="board-chair", role=GOVERNANCE, version="1",
                        decision="reject", reason="calibration drifted", waivers={}, board=None)
    store.dispose()
    assert live.refresh(registry)
    ready, reason = live.readiness()
    assert not ready and "version 1 was rejected by governance on " in reason
    # Neither who decided nor the free-text reason (it may name a person) is for the
    # unauthenticated /readyz.
    assert "board-chair" not in reason and "calibration drifted" not in reason
    with pytest.raises(ModelUnavailable, match="was rejected"):
        live.score_cases([])
    assert not live.refresh(registry)  # no decision since: not checked again
    record_test_approval(url, registry, "1")
    assert live.refresh(registry) and live.readiness()[0] and live.version == "1"
    store = Store(url)
    with store.session() as session:
        entries = list(session.execute(select(AuditEntry.action, AuditEntry.user_name).where(
            AuditEntry.action.in_(("model_swap", "model_withdrawn"))).order_by(AuditEntry.seq)))
    store.dispose()
    assert [action for action, _ in entries] == ["model_swap", "model_withdrawn", "model_swap"]
    # The service's own acts, not a command line's.
    assert {user for _, user in entries} == {f"service:{getpass.getuser()}"}
    with store.session() as session:
        refusals = list(session.scalars(select(AuditEntry.details).where(
            AuditEntry.action == "model_swap_refused").order_by(AuditEntry.seq)))
    store.dispose()
    # Refused once for want of an approval; the rejection is the withdrawal's entry.
    assert len(refusals) == 1 and "no recorded approval" in refusals[0]["reason"]


def test_a_champion_whose_approval_a_later_audit_voids_is_withdrawn_while_running(
    trained_model: TrainedModel, tmp_path: Path, fresh_database_url: str,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's finding: a later fairness audit voided the champion's approval, and a
    fresh service refused it, while the one already running served it on. The full check
    runs only when what it reads has changed."""
    from fastapi.testclient import TestClient

    from api import served_approval
    from api.app import create_app
    from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT, FAIRNESS_ARTIFACT
    from tests.api import factories

    model = trained_model.loaded
    registry, _ = register_copy(tmp_path / "mlflow", model.model, model.golden)
    settings = make_settings(fresh_database_url, **registry_settings(registry))
    keys, _ = issue_keys(settings)
    record_test_approval(fresh_database_url, registry, "1")
    live = LiveScorer(settings, load_scorer(settings))
    headers = {"Authorization": f"Bearer {keys['triage']}"}
    full_checks: list[str] = []
    gate = served_approval.gate_state_in
    monkeypatch.setattr(served_approval, "gate_state_in",
                        lambda *args: full_checks.append(args[2]) or gate(*args))
    with TestClient(create_app(settings, live)) as client:
        assert client.post("/v1/score", json=factories.case(), headers=headers).status_code == 200
        assert not live.refresh(registry) and not live.refresh(registry)  # nothing to do
        assert full_checks == ["1"]  # the first refresh's; the second found nothing changed
        # `safeguard audit fairness` records a new audit of an extract with the run.
        audit = registry.read_artifact("1", FAIRNESS_ARTIFACT) or b"{}"
        registry.log_text(registry.resolve("1").run_id, audit.decode("utf-8"),
                          EXTRACT_AUDIT_ARTIFACT)
        assert live.refresh(registry)
        refused = client.post("/v1/score", json=factories.case(), headers=headers)
        ready = client.get("/readyz")
        assert refused.status_code == 503 and ready.status_code == 503
        for said in (refused.text, ready.text):
            assert "is void: its fairness_audit/fairness.json changed" in said, said
        assert not live.refresh(registry)  # withdrawn once, not again each interval
        record_test_approval(fresh_database_url, registry, "1")
        assert live.refresh(registry) and live.readiness()[0]
        assert client.post("/v1/score", json=factories.case(), headers=headers).status_code == 200
    store = Store(fresh_database_url)
    with store.session() as session:
        entries = list(session.execute(select(AuditEntry.action, AuditEntry.details).where(
            AuditEntry.action.in_(("model_swap", "model_withdrawn"))).order_by(AuditEntry.seq)))
    store.dispose()
    assert [action for action, _ in entries] == ["model_withdrawn", "model_swap"]
    assert "fairness_audit/fairness.json changed" in entries[0][1]["reason"]
