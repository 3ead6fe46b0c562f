"""`safeguard train` and `safeguard score` end by naming an agency whose records arrive
late and one that stopped recording, with the referrals each concerned, whether or not
the ratings carry explanations (an independent probe's `score --no-explanations` wrote
no warning column and printed nothing of either; its `train` said nothing)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.api.test_score_late import late_copy
from tests.api.test_score_silent import stopped_copy
from tests.model.test_cli import mlflow_env  # noqa: F401  (the commands' stores)

runner = CliRunner()


def test_train_and_score_name_a_late_and_a_stopped_agency(
        small_extract: Path, mlflow_env: Path) -> None:  # noqa: F811
    late = mlflow_env / "late"
    late_copy(small_extract, late, "police", 60, 200)
    extract = mlflow_env / "late_and_stopped"
    stopped_copy(late, extract, "health", "2026-05-31")
    date = ["--extract-date", "2026-09-30"]
    trained = runner.invoke(app, ["train", "--input", str(extract), *date])
    assert trained.exit_code == 0, trained.output
    said = " ".join(trained.output.split())
    assert "Police records arrive late in this extract (those recorded in its latest 182 days: " \
           "a median of " in said
    assert ("went without most of their recent police records; the model card names it, and "
            "each case the service scores with this version is warned of it.") in said
    assert "health's feed appears to have stopped." in said
    for explain, told in ((["--no-explanations"], ""), ([], "; each one's warnings say so")):
        scored = runner.invoke(app, ["score", "--input", str(extract), "--output",
                                     str(mlflow_env / "ratings.csv"), "--model", "1",
                                     *date, *explain])
        assert scored.exit_code == 0, scored.output
        said = " ".join(scored.output.split())
        assert (f"referrals dated from 2 April 2026 were scored without most of their recent "
                f"police records{told}.") in said, said
        assert "No health records were recorded after " in said
        assert f"were scored without its records since{told}." in said
