"""``safeguard features`` as a user runs it, and the build it runs: stages and chunks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from pipelines import links
from pipelines.features import AUDIT_COLUMNS, build_features
from pipelines.manifest import FEATURE_NAMES
from pipelines.synth import SynthConfig, generate_extract
from tests.pipelines.factories import random_extract

N_REFERRALS = 300
runner = CliRunner()


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("features_cli") / "extract"
    generate_extract(SynthConfig(n_referrals=N_REFERRALS, seed=5, corrupt=False), out_dir=out)
    return out


def _features(extract_dir: Path, output: Path, *options: str):  # noqa: ANN202
    return runner.invoke(app, ["features", "--input", str(extract_dir), "--output", str(output),
                               *options])


def test_features_writes_one_row_per_referral_and_a_matching_manifest(
    extract_dir: Path, tmp_path: Path,
) -> None:
    output = tmp_path / "out" / "features.parquet"
    result = _features(extract_dir, output)
    assert result.exit_code == 0, result.output
    assert f"{N_REFERRALS} referrals x {len(FEATURE_NAMES)} features" in result.output
    table = pd.read_parquet(output)
    referrals = pd.read_csv(extract_dir / "referrals.csv", dtype=str)
    assert len(table) == N_REFERRALS
    assert sorted(table["referral_id"]) == sorted(referrals["referral_id"])
    assert list(table.columns[: len(AUDIT_COLUMNS)]) == list(AUDIT_COLUMNS)
    manifest = json.loads((tmp_path / "out" / "features.manifest.json").read_text())
    manifest_names = [feature["name"] for feature in manifest["features"]]
    assert manifest_names == list(table.columns[len(AUDIT_COLUMNS):])
    assert "household_members" not in result.output  # the feed is there: nothing to say


def _two_bad_referrals(extract_dir: Path, broken: Path) -> Path:
    """The extract with its first two referrals' presenting need not in the vocabulary."""
    broken.mkdir()
    for feed in extract_dir.iterdir():
        (broken / feed.name).symlink_to(feed)
    referrals = pd.read_csv(extract_dir / "referrals.csv", dtype=str, keep_default_na=False)
    referrals.loc[:1, "presenting_need"] = "not_a_need"
    (broken / "referrals.csv").unlink()
    referrals.to_csv(broken / "referrals.csv", index=False)
    return broken


def test_features_says_how_many_rows_were_quarantined_and_where_to_read_why(
    extract_dir: Path, tmp_path: Path,
) -> None:
    broken = _two_bad_referrals(extract_dir, tmp_path / "broken")
    result = _features(broken, tmp_path / "features.parquet")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"{N_REFERRALS - 2} referrals x" in said
    assert (f"Quarantined, so not used: 2 referral rows (not in this output); `safeguard "
            f"validate --input {broken} --report DIR` lists each with its reason.") in said


def test_features_says_when_no_household_member_could_be_linked(
    extract_dir: Path, tmp_path: Path,
) -> None:
    """The household_members feed is optional: without it (or with every row of it
    quarantined) records about parents and carers counted for no referral, unsaid."""
    absent, rejected = tmp_path / "absent", tmp_path / "rejected"
    for folder in (absent, rejected):
        folder.mkdir()
        for feed in extract_dir.iterdir():
            if feed.name != "household_members.csv":
                (folder / feed.name).symlink_to(feed)
    members = pd.read_csv(extract_dir / "household_members.csv", dtype=str)
    members.assign(role="not_a_role").to_csv(rejected / "household_members.csv", index=False)
    said = {folder: " ".join(_features(folder, tmp_path / f"{folder.name}.parquet").output.split())
            for folder in (absent, rejected)}
    assert said[absent].endswith(
        "No household_members feed (or a feed without rows): records about parents, carers "
        "and other household members could not be counted for any referral."), said[absent]
    assert (f"Every household_members row was quarantined ({len(members):,}): records about "
            "parents, carers and other household members could not be counted for any "
            "referral.") in said[rejected], said[rejected]


def test_the_validate_it_names_carries_the_extract_date_given(
    extract_dir: Path, tmp_path: Path,
) -> None:
    """Without `--extract-date`, validate dates the extract from the data, and another
    date quarantines other rows: the command named must list the rows this one set aside."""
    broken = _two_bad_referrals(extract_dir, tmp_path / "broken")
    today = dt.date.today().isoformat()
    result = _features(broken, tmp_path / "features.parquet", "--extract-date", today)
    said = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert (f"`safeguard validate --input {broken} --extract-date {today} --report "
            "DIR` lists each with its reason.") in said


def test_an_extract_date_before_every_referral_is_refused_saying_why(
    extract_dir: Path, tmp_path: Path,
) -> None:
    """Every referral after the extract date is a bad row: the command wrote an empty table,
    said "0 referrals" and succeeded."""
    output = tmp_path / "features.parquet"
    result = _features(extract_dir, output, "--extract-date", "2000-01-01")
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert said == (f"error: referrals.csv: no referral was accepted (all {N_REFERRALS:,} rows "
                    "quarantined; the commonest reason: referral_date: after extract date, "
                    f"{N_REFERRALS:,} rows), so there is nothing to build on. Is the extract "
                    "date, 2000-01-01, right? A date after it is a bad row "
                    f"({N_REFERRALS:,} of them). `safeguard validate "
                    f"--input {extract_dir} --extract-date 2000-01-01 --report DIR` lists each row "
                    "with its reason")
    assert not output.exists()


def test_features_refuses_an_output_that_is_not_parquet(extract_dir: Path, tmp_path: Path
                                                        ) -> None:
    output = tmp_path / "features.csv"
    result = _features(extract_dir, output)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("error: ")
    assert "use a .parquet file name" in result.output
    assert not output.exists()


@pytest.mark.parametrize("name, message", [
    ("a_file/features.parquet", "a_file is not a folder this user can write to"),
    ("folder.parquet", "is a folder; name the feature table"),
])
def test_features_refuses_an_output_it_cannot_write_before_any_work(
    tmp_path: Path, name: str, message: str
) -> None:
    # It validated and built the whole table first, then said "a_file: File exists".
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "folder.parquet").mkdir()
    result = _features(tmp_path / "no_extract", tmp_path / name)  # no input: no work done
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and message in result.output, result.output
    assert "no_extract" not in result.output
    assert (tmp_path / "a_file").read_text() == "not a folder"
    assert not any((tmp_path / "folder.parquet").iterdir())


@pytest.mark.parametrize("command", ["features", "score"])
@pytest.mark.parametrize("spark_option", [["--master", "spark://hub:7077"], ["--conf", "foo"],
                                          ["--conf", "spark.executor.memory=8g"]])
def test_spark_options_without_the_spark_engine_are_a_usage_error(
    extract_dir: Path, tmp_path: Path, command: str, spark_option: list[str]
) -> None:
    # Not run on this machine unseen: a cluster's URL given with --engine spark forgotten.
    output = tmp_path / "out.parquet"
    result = runner.invoke(app, [command, "--input", str(extract_dir), "--output", str(output),
                                 *spark_option])
    assert result.exit_code == 2
    assert "--master and --conf are Spark's: add --engine spark" in result.output
    assert not output.exists()


def test_build_gives_the_same_table_whatever_the_chunk_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frames = random_extract(120, seed=4)
    whole = build_features(frames)
    # A few records' worth of rows per chunk: many chunks, links cut at every boundary.
    monkeypatch.setattr(links, "CHUNK_ROWS", 25)
    monkeypatch.setattr(links, "CHUNK_REFERRALS", 7)
    pd.testing.assert_frame_equal(build_features(frames), whole, check_exact=True)
