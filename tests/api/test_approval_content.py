"""What an approval covers: every file a version's card and acceptance checks read, the
run's metrics and the registry's checksum; a change to any voids it, naming what changed,
and an approval recorded before it named them all must be given again."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from typer.testing import CliRunner

from api.approvals import gate_problem
from api.cli import app as safeguard
from api.governance_commands import APPROVE_HELP
from api.store import Store, init_db
from api.store.db import alembic_config
from model.band_precision import VERY_HIGH_BAND
from model.card import acceptance_checks
from model.card_sources import (
    CARD_MARKDOWN_ARTIFACT,
    FAIRNESS_ARTIFACT,
    RECORDED_FILES,
    TRAINING_REPORT,
    read_sources,
)
from model.registry import CHECKSUM_TAG, ModelRegistry
from tests.api.conftest import TrainedModel, record_test_approval
from tests.api.test_model_commands import Run, audit_entries, registry, run  # noqa: F401

RATES_BY_BAND = "evaluation/rates_by_band.csv"
PRECISION = "min_very_high_band_precision"


def _stored(models: ModelRegistry, path: str) -> Path:
    """The stored copy of one file of version 1's run, in the artifact root."""
    run_id = models.resolve("1").run_id
    [found] = [p for p in Path(str(models.artifact_root)).rglob(path) if run_id in str(p)]
    return found


def _with_evaluation(models: ModelRegistry, trained_model: TrainedModel,
                     tmp_path: Path) -> None:
    """Version 1 with the trained run's evaluation files and fairness report (the card
    is logged by the approval after them, as training logs it last)."""
    folder = tmp_path / "from-training"
    for path in (RATES_BY_BAND, TRAINING_REPORT, FAIRNESS_ARTIFACT):
        data = trained_model.registry.read_artifact(trained_model.version, path)
        assert data is not None, path
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    run_id = models.resolve("1").run_id
    for sub in ("evaluation", "fairness"):
        models.log_files(run_id, folder / sub, sub)


def _precision_check(models: ModelRegistry) -> tuple[float | None, bool]:
    [check] = [c for c in acceptance_checks(read_sources(models, "1")) if c.name == PRECISION]
    return check.measured, check.met


def _set_very_high_rate(models: ModelRegistry, rate: float, referrals: int | None = None
                        ) -> None:
    stored = _stored(models, RATES_BY_BAND)
    table = pd.read_csv(io.BytesIO(stored.read_bytes()))
    table.loc[table["band"] == VERY_HIGH_BAND, "outcome_rate"] = rate
    if referrals is not None:  # a rate on too few referrals is not judged, so never met
        table.loc[table["band"] == VERY_HIGH_BAND, "referrals"] = referrals
    stored.write_text(table.to_csv(index=False), encoding="utf-8")


def test_an_edited_outcome_rate_by_band_voids_the_approval_that_waived_it(
    run: Run, registry: ModelRegistry, tmp_path: Path,  # noqa: F811
    trained_model: TrainedModel,
) -> None:
    run("db", "upgrade")
    _with_evaluation(registry, trained_model, tmp_path)
    _set_very_high_rate(registry, 0.05)  # missed, so waived at approval
    record_test_approval(f"sqlite:///{tmp_path / 'api.db'}", registry, "1")
    assert _precision_check(registry) == (0.05, False)
    _set_very_high_rate(registry, 0.95, 500)  # edited after the approval: now "met"
    assert _precision_check(registry) == (0.95, True)
    code, output = run("model", "card", "1", "--output", str(tmp_path / "card"))
    assert code == 0, output
    card = (tmp_path / "card" / "model_card.md").read_text(encoding="utf-8")
    assert "| approve |" in card and "In force |" in card
    assert "no (the approval of version 1 recorded on" in card
    assert f"its {RATES_BY_BAND} changed since it was approved" in card
    code, output = run("model", "promote", "1")
    assert code == 1 and f"is void: its {RATES_BY_BAND} changed" in output, output
    assert registry.list_versions()[0].aliases == ()
    assert audit_entries(tmp_path)[-1].action == "model_promote_refused"


@pytest.mark.parametrize("path", [CARD_MARKDOWN_ARTIFACT, TRAINING_REPORT])
def test_any_file_of_the_card_edited_after_the_approval_voids_it(
    run: Run, registry: ModelRegistry, tmp_path: Path,  # noqa: F811
    trained_model: TrainedModel, path: str,
) -> None:
    run("db", "upgrade")
    _with_evaluation(registry, trained_model, tmp_path)
    record_test_approval(f"sqlite:///{tmp_path / 'api.db'}", registry, "1")
    stored = _stored(registry, path)
    stored.write_bytes(stored.read_bytes() + b"\n")  # one byte more, as valid as before
    code, output = run("model", "promote", "1")
    assert code == 1 and f"is void: its {path} changed since it was approved" in output, output


def test_a_changed_run_metric_or_checksum_tag_voids_the_approval(
    run: Run, registry: ModelRegistry, tmp_path: Path,  # noqa: F811
) -> None:
    run("db", "upgrade")
    url = f"sqlite:///{tmp_path / 'api.db'}"
    record_test_approval(url, registry, "1")
    store = Store(url)
    with store.session() as session:
        assert gate_problem(session, registry, "1", board=None) is None
        info = registry.resolve("1")
        registry.client.log_metric(info.run_id, "test_roc_auc", 0.99)
        assert "is void: its run metrics changed" in str(
            gate_problem(session, registry, "1", board=None))
        record_test_approval(url, registry, "1")  # approved again, as the metrics are now
        assert gate_problem(session, registry, "1", board=None) is None
        registry.client.set_model_version_tag(registry.model_name, "1", CHECKSUM_TAG, "0" * 64)
        problem = str(gate_problem(session, registry, "1", board=None))
    store.dispose()
    assert f"is void: its registry checksum (the '{CHECKSUM_TAG}' tag) changed" in problem


def test_an_approval_recorded_before_it_named_every_file_must_be_given_again(
    fresh_database_url: str, registry: ModelRegistry,  # noqa: F811
) -> None:
    record_test_approval(fresh_database_url, registry, "1")
    # Down to the schema before migration 0011 and up again: the approval keeps its three
    # hashes, as one recorded then did, and names no other file.
    command.downgrade(alembic_config(fresh_database_url), "0010_referral_people_score")
    init_db(fresh_database_url)
    store = Store(fresh_database_url)
    with store.session() as session:
        problem = str(gate_problem(session, registry, "1", board=None))
    store.dispose()
    assert "names only its model folder, fairness report and HTML card" in problem
    assert "must approve it again (`safeguard model approve 1`)" in problem
    record_test_approval(fresh_database_url, registry, "1")
    store = Store(fresh_database_url)
    with store.session() as session:
        assert gate_problem(session, registry, "1", board=None) is None
    store.dispose()


def test_the_approve_help_names_every_file_an_approval_covers() -> None:
    """It named the model folder, fairness report and card only: a board read that the
    evaluation and SHAP tables, the calibration plot and the run's metrics were not
    covered. The help names the files itself (importing this module takes seconds)."""
    named = set(re.findall(r"[\w/]+\.(?:json|csv|png|html|md)\b", APPROVE_HELP))
    assert named == set(RECORDED_FILES), named ^ set(RECORDED_FILES)
    assert "model folder" in APPROVE_HELP and "run's metrics and parameters" in APPROVE_HELP
    shown = " ".join(CliRunner().invoke(safeguard, ["model", "approve", "--help"]).output.split())
    assert "explanations/mean_abs_shap_by_agency.csv" in shown
    group = " ".join(CliRunner().invoke(safeguard, ["model", "--help"]).output.split())
    assert "added by the API" not in group and "approve or reject them" in group, group
