"""`safeguard score --model V` with a version governance has not approved: one warning
line on standard error, as for a rejected version, and the ratings still written (exit 0).
Testing a version before approval is allowed; its scores going to triage unsaid is not."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from api.approval_content import CHECKSUM, MODEL_FOLDER
from api.cli import app as safeguard
from api.store import Store
from api.store.models import ModelApproval
from model.card_sources import CARD_MARKDOWN_ARTIFACT
from model.registry import ModelRegistry
from tests.api.conftest import TrainedModel, make_settings, record_test_approval
from tests.api.test_approval_content import _stored
from tests.api.test_model_commands import Run, registry, run  # noqa: F401

FOR_TESTING = "its scores are for testing, not for triage"


def _score(extract: Path, output: Path) -> tuple[int, str, str]:
    """Score with version 1 (the `run` fixture's environment): exit code, stdout, stderr."""
    result = CliRunner().invoke(safeguard, ["score", "--input", str(extract), "--output",
                                            str(output), "--model", "1", "--no-explanations"])
    return result.exit_code, result.stdout, result.stderr


def test_score_warns_of_a_version_awaiting_approval_or_whose_approval_is_void(
    run: Run, registry: ModelRegistry, tmp_path: Path,  # noqa: F811
    trained_model: TrainedModel,
) -> None:
    assert run("db", "upgrade")[0] == 0
    code, out, err = _score(trained_model.extract, tmp_path / "awaiting.csv")
    assert code == 0 and (tmp_path / "awaiting.csv").is_file(), out + err
    assert err.splitlines() == [f"warning: version 1 is awaiting approval: {FOR_TESTING}"]
    assert "warning" not in out
    record_test_approval(f"sqlite:///{tmp_path / 'api.db'}", registry, "1")
    code, out, err = _score(trained_model.extract, tmp_path / "approved.csv")
    assert code == 0 and "warning" not in out + err, out + err
    card = _stored(registry, CARD_MARKDOWN_ARTIFACT)
    card.write_bytes(card.read_bytes() + b"\n")  # edited after the approval: void
    code, out, err = _score(trained_model.extract, tmp_path / "void.csv")
    assert code == 0 and (tmp_path / "void.csv").is_file(), out + err
    [line] = err.splitlines()
    assert line.startswith(f"warning: the approval of version 1 is not valid: {FOR_TESTING} "
                           "(the approval of version 1 recorded on "), line
    assert line.endswith(f"is void: its {CARD_MARKDOWN_ARTIFACT} changed since it was "
                         "approved)"), line


def test_score_checks_the_approval_against_the_model_folder_its_load_read(
    run: Run, registry: ModelRegistry, tmp_path: Path,  # noqa: F811
    trained_model: TrainedModel, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The load hashed the folder and checked it against the checksum tag: the approval
    # check takes that hash, never a second copy of the folder read for it alone.
    assert run("db", "upgrade")[0] == 0
    database = f"sqlite:///{tmp_path / 'api.db'}"
    record_test_approval(database, registry, "1")
    reread: list[str] = []
    monkeypatch.setattr(ModelRegistry, "model_checksum",
                        lambda _self, version: reread.append(version) or "")
    code, out, err = _score(trained_model.extract, tmp_path / "approved.csv")
    assert code == 0 and "warning" not in out + err, out + err
    assert reread == []
    # Still checked: an approval naming another model folder does not hold.
    with Store.from_settings(make_settings(database, mlflow_tracking_uri="unused")).session(
    ) as session:
        session.execute(update(ModelApproval).values(model_sha256="0" * 64))
        session.commit()
    code, out, err = _score(trained_model.extract, tmp_path / "other.csv")
    [line] = err.splitlines()
    assert code == 0 and line.startswith(
        f"warning: the approval of version 1 is not valid: {FOR_TESTING} "), line
    assert f"its {MODEL_FOLDER} and {CHECKSUM} changed since it was approved" in line, line
    assert reread == []


def test_score_warns_when_no_approval_store_exists_yet_and_creates_none(
    run: Run, tmp_path: Path, trained_model: TrainedModel,  # noqa: F811
) -> None:
    # An independent probe's fresh install: no store yet, so no decision recorded, and the
    # ratings of a version awaiting approval were written without a word.
    code, out, err = _score(trained_model.extract, tmp_path / "no_store.csv")
    assert code == 0 and (tmp_path / "no_store.csv").is_file(), out + err
    assert err.splitlines() == [f"warning: version 1 is awaiting approval: {FOR_TESTING}"]
    assert not (tmp_path / "api.db").exists()
