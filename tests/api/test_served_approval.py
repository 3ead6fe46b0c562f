"""The running service's check of its version's approval (`api.served_approval`): in full
only when what the gate reads has changed, whether the run's files lie in a local folder
or in a remote store."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import served_approval
from api.approvals import latest_decision_in
from api.served_approval import ServedApproval
from model.registry import ModelRegistry
from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT, FAIRNESS_ARTIFACT
from tests.api.conftest import TrainedModel, record_test_approval, register_copy
from tests.api.test_model_loading import settings_for


@pytest.mark.parametrize("store", ["local", "remote"])
def test_a_later_audit_is_seen_without_a_full_check_each_refresh(
    trained_model: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    model = trained_model.loaded
    registry, _ = register_copy(tmp_path / "mlflow", model.model, model.golden)
    settings = settings_for(tmp_path, registry)
    record_test_approval(settings.database_url, registry, "1")
    if store == "remote":  # no local folder: the recorded files' bytes are compared
        monkeypatch.setattr(ModelRegistry, "run_folder", lambda self, info: None)
    full: list[str] = []
    gate = served_approval.gate_state_in
    monkeypatch.setattr(served_approval, "gate_state_in",
                        lambda *args: full.append(args[2]) or gate(*args))
    watch = ServedApproval(settings)

    def check() -> str | None:
        latest = latest_decision_in(settings, registry.model_name, "1")
        return watch.check(registry, "1", latest.id if latest else None).problem

    assert check() is None and check() is None and len(full) == 1
    audit = (registry.read_artifact("1", FAIRNESS_ARTIFACT) or b"{}").decode("utf-8")
    registry.log_text(registry.resolve("1").run_id, audit, EXTRACT_AUDIT_ARTIFACT)
    problem = check()
    assert problem is not None and "fairness_audit/fairness.json changed" in problem
    assert len(full) == 2
    monkeypatch.setattr(served_approval, "FULL_CHECK_SECONDS", 0.0)  # the periodic check
    check()
    assert len(full) == 3
