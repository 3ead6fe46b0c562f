"""A refused extract is one line on standard error and nothing on standard output, for
every command that reads one, run as an operator runs it (piped, not a terminal)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.api.conftest import TrainedModel, register_copy, registry_settings
from tests.api.failing_command import one_line_failure

# Each command that reads an extract, `{input}` the extract and `{tmp}` a folder of its own.
COMMANDS = {
    "features": ("features", "--input", "{input}", "--output", "{tmp}/features.parquet"),
    "score": ("score", "--input", "{input}", "--output", "{tmp}/ratings.csv"),
    "train": ("train", "--input", "{input}"),
    "monitor": ("monitor", "--input", "{input}", "--output", "{tmp}/monitor"),
    "audit fairness": ("audit", "fairness", "--model", "1", "--input", "{input}",
                       "--output", "{tmp}/fairness"),
    "report partnership": ("report", "partnership", "--input", "{input}",
                           "--output", "{tmp}/partnership"),
    "model compare": ("model", "compare", "1", "2", "--input", "{input}"),
    "validate": ("validate", "--input", "{input}", "--report", "{tmp}/report"),
}
# `validate` reports an extract whose every referral is quarantined; the others refuse it.
BUILDING_ON_IT = [name for name in COMMANDS if name != "validate"]


@pytest.fixture(scope="module")
def two_versions(trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[str, str]:
    """The settings naming a registry of two copies of the trained model (1 the
    champion), so that every command finds the versions it asks for."""
    loaded = trained_model.loaded
    registry, _ = register_copy(tmp_path_factory.mktemp("two"), loaded.model, loaded.golden)
    registry.register(registry.start_run("t", run_name="copy"), loaded.model, loaded.golden,
                      description="a second copy")
    named = registry_settings(registry)
    return {"SAFEGUARD_MLFLOW_TRACKING_URI": named["mlflow_tracking_uri"],
            "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": named["mlflow_artifact_root"],
            "SAFEGUARD_MODEL_NAME": named["model_name"]}


def _refused(tmp_path: Path, command: str, extract: Path, env: dict[str, str],
             *options: str) -> str:
    args = [a.replace("{input}", str(extract)) for a in COMMANDS[command]]
    return one_line_failure(tmp_path, *args, *options, **env)


@pytest.mark.parametrize("command", BUILDING_ON_IT)
def test_an_extract_whose_every_referral_is_quarantined_is_one_line(
    command: str, trained_model: TrainedModel, two_versions: dict[str, str], tmp_path: Path
) -> None:
    """`features` wrote an empty line on standard output beside its refusal (`train` and
    `score` too), `report partnership` a line of progress on standard error before it."""
    said = _refused(tmp_path, command, trained_model.extract, two_versions,
                    "--extract-date", "2000-01-01")
    assert said.startswith("error: referrals.parquet: no referral was accepted"), said


@pytest.mark.parametrize("command", COMMANDS)
def test_an_extract_without_its_referrals_is_one_line(
    command: str, trained_model: TrainedModel, two_versions: dict[str, str], tmp_path: Path
) -> None:
    extract = tmp_path / "extract"  # its outcomes only (`train` asks for them first)
    extract.mkdir()
    shutil.copy(trained_model.extract / "outcomes.parquet", extract)
    said = _refused(tmp_path, command, extract, two_versions)
    assert said.startswith("error: ") and "required feed 'referrals' missing" in said, said
