"""The approval gate reads the version's latest fairness audit of an extract: `safeguard
audit fairness` records it with the version's run, each finding beyond a board's fairness
threshold (on its point estimate) needs a waiver by name, an approval covers the audit it
judged, and a version never audited on an extract needs `fairness_audit_recorded` waived."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.model_card import log_card
from model.acceptance import unmet
from model.audit_acceptance import FAIRNESS_AUDIT_RECORDED
from model.card import acceptance_checks
from model.card_sources import read_sources
from model.registry import ModelRegistry
from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT
from tests.api.conftest import TrainedModel, issue_keys, make_settings
from tests.api.test_approvals import _write_key
from tests.api.test_model_commands import Run, registry, run  # noqa: F401


def _unmet(models: ModelRegistry) -> set[str]:
    return {c.name for c in unmet(acceptance_checks(read_sources(models, "1")))}


def _plant_black_gap(folder: Path) -> None:
    """The audit's JSON with the probe's finding: Black subjects' risk predicted 10.1
    points below the observed rate beside the overall gap (95% interval -11.8 to -8.0)."""
    document = json.loads((folder / "fairness.json").read_text(encoding="utf-8"))
    [black] = [g for g in document["groups"] if g["attributes"] == {"ethnicity_group": "black"}]
    black.update({"calibration_gap_beyond_overall": -0.101,
                  "calibration_gap_beyond_overall_ci": [-0.118, -0.080],
                  "flags": [*black["flags"], "miscalibrated"], "possible_flags": [],
                  "n": 2_100})
    (folder / "planted.json").write_text(json.dumps(document), encoding="utf-8")


def test_approval_needs_the_extract_audit_and_a_waiver_for_each_of_its_findings(
    run: Run, registry: ModelRegistry, tmp_path: Path, trained_model: TrainedModel,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run("db", "upgrade")[0] == 0
    log_card(registry, registry.resolve("1"), board=None)
    keys, _ = issue_keys(make_settings(f"sqlite:///{tmp_path / 'api.db'}"))
    key = _write_key(tmp_path, keys["governance"])
    # Never audited on an extract: approval must waive that, by name, or the audit be run.
    assert FAIRNESS_AUDIT_RECORDED in _unmet(registry)
    others = [f"--waive={name}=small synthetic extract"
              for name in sorted(_unmet(registry) - {FAIRNESS_AUDIT_RECORDED})]
    code, output = run("model", "approve", "1", "--reason", "ok", "--key-file", key, *others)
    assert code == 1 and FAIRNESS_AUDIT_RECORDED in output, output
    assert "safeguard audit fairness" in " ".join(output.split())
    # The audit is recorded with the version's run, every figure kept (even --publication).
    out = tmp_path / "audit"
    code, output = run("audit", "fairness", "--model", "1", "--input",
                       str(trained_model.extract), "--output", str(out), "--publication")
    assert code == 0, output
    said = " ".join(output.split())
    assert f"recorded with version 1 as {EXTRACT_AUDIT_ARTIFACT}" in said
    recorded = json.loads(registry.read_artifact("1", EXTRACT_AUDIT_ARTIFACT) or b"{}")
    assert recorded["publication"] is False and recorded["groups"]
    assert FAIRNESS_AUDIT_RECORDED not in _unmet(registry)
    # The probe's Black finding planted in the recorded audit: the gate asks for its waiver.
    _plant_black_gap(out)
    registry.log_text(registry.resolve("1").run_id,
                      (out / "planted.json").read_text(encoding="utf-8"), EXTRACT_AUDIT_ARTIFACT)
    missed = _unmet(registry)
    assert "audit_max_group_calibration_gap" in missed
    others = [f"--waive={name}=small synthetic extract"
              for name in sorted(missed - {"audit_max_group_calibration_gap"})]
    code, output = run("model", "approve", "1", "--reason", "ok", "--key-file", key, *others)
    said = " ".join(output.split())
    assert code == 1 and "audit_max_group_calibration_gap" in said, output
    assert "Black subjects (calibration gap beside the overall gap -0.101" in said
    # A narrower audit (part of the extract, or fewer resamples) leaves it recorded.
    planted = registry.read_artifact("1", EXTRACT_AUDIT_ARTIFACT)
    for narrow in (["--since", recorded["audited"]["model_test_from"]], ["--resamples", "100"]):
        code, output = run("audit", "fairness", "--model", "1", "--input",
                           str(trained_model.extract), "--output", str(tmp_path / "narrow"),
                           *narrow)
        said = " ".join(output.split())
        assert code == 0 and "not recorded for approval: " in said, output
        assert "the recorded audit of the extract dated" in said and "stays" in said
        assert registry.read_artifact("1", EXTRACT_AUDIT_ARTIFACT) == planted
    code, output = run("model", "approve", "1", "--reason", "ok", "--key-file", key, *others)
    assert code == 1 and "audit_max_group_calibration_gap" in " ".join(output.split())
    code, output = run("model", "approve", "1", "--reason", "board of 7 December", "--key-file",
                       key, *others, "--waive=audit_max_group_calibration_gap=label bias "
                       "under review with the police")
    assert code == 0, output
    assert run("model", "promote", "1")[0] == 0
    # A later audit is not what the board judged: recorded only when asked to, as it voids
    # the approval (an independent probe's publication copy took the champion offline).
    audit = ["audit", "fairness", "--model", "1", "--input", str(trained_model.extract)]
    code, output = run(*audit, "--output", str(tmp_path / "again"), "--publication")
    said = " ".join(output.split())
    assert code == 0 and "not recorded for approval: version 1 holds a valid approval" in said
    assert "and the alias champion" in said and "--replace-approved" in said, said
    assert (tmp_path / "again" / "fairness.json").is_file()
    assert registry.read_artifact("1", EXTRACT_AUDIT_ARTIFACT) == (out / "planted.json"
                                                                   ).read_bytes()
    assert run("model", "promote", "1")[0] == 0
    code, output = run(*audit, "--output", str(tmp_path / "replaced"), "--replace-approved")
    assert code == 0 and "recorded with version 1" in " ".join(output.split()), output
    code, output = run("model", "promote", "1")
    assert code == 1 and EXTRACT_AUDIT_ARTIFACT in output, output
