"""`safeguard train` and `score` on an extract without household membership: the feed is
optional, and without it records about parents, carers and other household members count
for no referral; both commands end by saying so."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.model.test_cli import mlflow_env  # noqa: F401  (the commands' stores)

runner = CliRunner()
UNCOUNTED = ("records about parents, carers and other household members could not be "
             "counted for any referral")


def _without_household_members(extract: Path, folder: Path) -> Path:
    partial = folder / "no_household_members"
    partial.mkdir()
    for feed in extract.iterdir():
        if not feed.name.startswith("household_members"):
            (partial / feed.name).symlink_to(feed)
    return partial


def test_train_and_score_say_no_household_member_was_linked(
        small_extract: Path, mlflow_env: Path) -> None:  # noqa: F811
    partial = _without_household_members(small_extract, mlflow_env)
    trained = runner.invoke(app, ["train", "--input", str(partial)])
    assert trained.exit_code == 0, trained.output
    assert (f"No household_members feed (or a feed without rows): {UNCOUNTED}; the model "
            "learns nothing from them.") in " ".join(trained.output.split())
    scored = runner.invoke(app, ["score", "--input", str(partial), "--output",
                                 str(mlflow_env / "partial.csv"), "--model", "1",
                                 "--no-explanations"])
    assert scored.exit_code == 0, scored.output
    assert (f"No household_members feed (or a feed without rows): {UNCOUNTED}."
            in " ".join(scored.output.split())), scored.output
    whole = runner.invoke(app, ["score", "--input", str(small_extract), "--output",
                                str(mlflow_env / "whole.csv"), "--model", "1",
                                "--no-explanations"])
    assert whole.exit_code == 0 and "household_members" not in whole.output, whole.output
