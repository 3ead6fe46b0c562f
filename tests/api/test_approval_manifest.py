"""`safeguard model approve` refuses a version trained on another feature manifest than
this release builds, with the reason every load refuses it for (`model.trained_manifest`):
a board could approve a version that could never be served. It may still be rejected, and
its card says plainly which manifest it was trained on."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.model_card import log_card
from model.registry import ModelRegistry
from pipelines.manifest import MANIFEST_VERSION
from tests.api.conftest import TrainedModel, issue_keys, make_settings
from tests.api.test_approvals import _approval_rows, _waive_all
from tests.api.test_model_commands import Run, registry, run  # noqa: F401
from tests.api.test_model_manifest import EARLIER, _refusal, _register_earlier


def test_approve_refuses_it_with_the_loads_reason_and_its_card_says_why(
    run: Run, registry: ModelRegistry, tmp_path: Path, trained_model: TrainedModel,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the gate judged its thresholds and content, not the manifest every load
    refuses it for, and the approval was recorded."""
    assert run("db", "upgrade")[0] == 0
    earlier = _register_earlier(registry, trained_model.loaded, monkeypatch)
    log_card(registry, registry.resolve(earlier), board=None)
    database_url = f"sqlite:///{tmp_path / 'api.db'}"
    keys, _ = issue_keys(make_settings(database_url))
    monkeypatch.setenv("SAFEGUARD_API_KEY", keys["governance"])
    waives = [f"--waive={name}={why}" for name, why in _waive_all(registry, earlier).items()]
    code, output = run("model", "approve", earlier, "--reason", "board of 7 December", *waives)
    assert code == 1 and " ".join(output.split()) == f"error: {_refusal(earlier)}", output
    assert _approval_rows(database_url) == []
    code, output = run("model", "reject", earlier, "--reason", "trained on the old manifest")
    assert code == 0, output
    assert [row.decision for row in _approval_rows(database_url)] == ["reject"]

    assert run("model", "card", earlier, "--output", str(tmp_path / "card"))[0] == 0
    card = " ".join((tmp_path / "card" / "model_card.md").read_text(encoding="utf-8").split())
    assert (f"**Warning: feature manifest version {EARLIER}, not the one this release builds "
            f"(version {MANIFEST_VERSION}).** This release will neither serve nor approve this "
            f"version: {_refusal(earlier)}.") in card
    assert run("model", "card", "1", "--output", str(tmp_path / "current"))[0] == 0
    current = (tmp_path / "current" / "model_card.md").read_text(encoding="utf-8")
    assert f"Feature manifest: version {MANIFEST_VERSION}, the one this release builds." in current
