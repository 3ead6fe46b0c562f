"""The service never serves a version trained on another feature manifest than this
release builds, even one the release it was trained under approved: at start `/readyz` and
`/v1/score` answer 503 with the reason, and a running service does not swap it in when the
alias moves to it (nor does it approve it: `tests/api/test_approval_manifest.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from api.live_model import LiveScorer
from api.model_scorer import load_scorer
from api.store import AuditEntry, Store
from model.registry import ModelRegistry
from model.registry_records import LoadedModel
from pipelines.manifest import MANIFEST_VERSION
from tests.api.conftest import TrainedModel, record_test_approval, register_copy
from tests.api.test_model_loading import assert_not_ready, settings_for

EARLIER = MANIFEST_VERSION - 1


def _approve_as_earlier_release(database_url: str, registry: ModelRegistry, version: str,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The approval the release before this one, which built manifest `EARLIER`, gave."""
    with monkeypatch.context() as patched:
        patched.setattr("model.trained_manifest.MANIFEST_VERSION", EARLIER)
        record_test_approval(database_url, registry, version)


def _refusal(version: str) -> str:
    return (f"model version {version} was trained on feature manifest {EARLIER}; this "
            f"release builds manifest {MANIFEST_VERSION}: retrain and approve a new version")


def _register_earlier(registry: ModelRegistry, model: LoadedModel,
                      monkeypatch: pytest.MonkeyPatch) -> str:
    """`model` registered as the release before this one registered it."""
    with monkeypatch.context() as patched:
        patched.setattr("pipelines.manifest.MANIFEST_VERSION", EARLIER)
        return registry.register(registry.start_run("t", run_name="earlier"), model.model,
                                 model.golden, description="earlier manifest").version


def test_an_approved_version_trained_on_an_earlier_manifest_is_not_served(
    tmp_path: Path, trained_model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = trained_model.loaded
    with monkeypatch.context() as patched:  # registered by the release before this one
        patched.setattr("pipelines.manifest.MANIFEST_VERSION", EARLIER)
        registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden)
    settings = settings_for(tmp_path, registry)
    _approve_as_earlier_release(settings.database_url, registry, version, monkeypatch)
    assert_not_ready(settings, _refusal(version))


def test_a_running_service_does_not_swap_it_in(
    tmp_path: Path, trained_model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = trained_model.loaded
    registry, current = register_copy(tmp_path / "mlflow", model.model, model.golden)
    earlier = _register_earlier(registry, model, monkeypatch)
    settings = settings_for(tmp_path, registry)
    record_test_approval(settings.database_url, registry, current)
    _approve_as_earlier_release(settings.database_url, registry, earlier, monkeypatch)
    live = LiveScorer(settings, load_scorer(settings))
    assert live.version == current
    registry.promote(earlier, "champion")  # behind the command's back: the worker checks
    assert not live.refresh(registry)
    assert live.version == current and live.readiness()[0]
    store = Store(settings.database_url)
    with store.session() as session:
        refusals = [(e.model_version, e.details["reason"]) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "model_swap_refused"))]
    store.dispose()
    assert refusals == [(earlier, _refusal(earlier))]

