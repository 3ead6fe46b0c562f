"""`safeguard score --model V` with a version governance has not approved: one warning
line on standard error, as for a rejected version, and the ratings still written (exit 0).
Testing a version before approval is allowed; its scores going to triage unsaid is not."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app as safeguard
from model.card_sources import CARD_MARKDOWN_ARTIFACT
from model.registry import ModelRegistry
from tests.api.conftest import TrainedModel, record_test_approval
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
