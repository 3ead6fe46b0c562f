"""`safeguard features --engine spark` as a user runs it: same table, same refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from data_contracts import validate_extract
from pipelines.synth import SynthConfig, generate_extract
from tests.spark.test_features_parity import assert_same_table

runner = CliRunner()


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark_cli") / "extract"
    generate_extract(SynthConfig(n_referrals=200, seed=8, corrupt=False), out_dir=out)
    return out


def _features(extract: Path | str, output: Path | str, *engine: str) -> Any:
    args = ["features", "--input", str(extract), "--output", str(output), *engine]
    return runner.invoke(app, args)


def _with_referrals(extract: Path, folder: Path, **columns: str) -> Path:
    """A copy of the extract whose referrals feed has ``columns`` set on every row."""
    folder.mkdir()
    for feed in extract.iterdir():
        (folder / feed.name).write_bytes(feed.read_bytes())
    referrals = pd.read_csv(folder / "referrals.csv", dtype=str)
    referrals.assign(**columns).to_csv(folder / "referrals.csv", index=False)
    return folder


def test_spark_engine_writes_the_single_machine_table_as_parquet(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    single, spark_out = tmp_path / "single.parquet", tmp_path / "spark.parquet"
    assert _features(extract_dir, single).exit_code == 0
    result = _features(extract_dir, spark_out, "--engine", "spark", "--master", "local[2]")
    assert result.exit_code == 0, result.output
    assert "200 referrals x" in result.output
    assert (tmp_path / "spark.manifest.json").is_file()
    assert_same_table(pd.read_parquet(single), pd.read_parquet(spark_out))


def test_spark_engine_says_no_household_member_was_linked(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    """As the single-machine engine: without the optional household_members feed, records
    about parents and carers counted for no referral, and the command says so."""
    partial = tmp_path / "no_members"
    partial.mkdir()
    for feed in extract_dir.iterdir():
        if feed.name != "household_members.csv":
            (partial / feed.name).symlink_to(feed)
    result = _features(partial, tmp_path / "spark.parquet", "--engine", "spark",
                       "--master", "local[2]")
    assert result.exit_code == 0, result.output
    assert ("No household_members feed (or a feed without rows): records about parents, "
            "carers and other household members could not be counted for any referral."
            ) in " ".join(result.output.split())


def test_spark_engine_refuses_a_failing_extract_with_the_same_one_line_error(
    extract_dir: Path, tmp_path: Path
) -> None:
    broken = _with_referrals(extract_dir, tmp_path / "broken", surname="Smith")
    single = _features(broken, tmp_path / "single.parquet")
    spark = _features(broken, tmp_path / "spark.parquet", "--engine", "spark")
    assert (spark.exit_code, spark.output.strip()) == (single.exit_code, single.output.strip())
    assert spark.exit_code == 1
    assert spark.output.startswith("error: ") and len(spark.output.strip().splitlines()) == 1
    assert "surname" in spark.output
    assert not (tmp_path / "spark.parquet").exists()


def test_a_setting_spark_refuses_is_named_in_one_line_and_nothing_is_written(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "spark.parquet"
    before = spark.conf.get("spark.sql.shuffle.partitions")  # an earlier test may have set it
    result = _features(extract_dir, output, "--engine", "spark", "--master", "local[2]",
                       "--conf", "spark.sql.shuffle.partitions=0")
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: --conf spark.sql.shuffle.partitions=0: ")
    assert line.endswith("The value of spark.sql.shuffle.partitions must be positive")
    assert not output.exists()
    assert spark.conf.get("spark.sql.shuffle.partitions") == before  # the session is as it was


def test_score_on_spark_refuses_an_output_that_is_not_parquet(tmp_path: Path) -> None:
    output = tmp_path / "ratings.csv"
    args = ["score", "--input", str(tmp_path), "--output", str(output), "--engine", "spark"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "use a .parquet name" in result.output
    assert not output.exists()


def test_a_uri_output_reaches_spark_unchanged(
    extract_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Path would fold `hdfs://namenode:8020/x` into `hdfs:/namenode:8020/x`, losing
    # the host: both commands hand Spark the string as typed.
    import model.spark_scoring
    import pipelines.spark.job

    seen: dict[str, object] = {}

    def features_job(input_dir: Path, output: str, **kwargs: object) -> object:
        seen.update(features=output, manifest=kwargs["manifest"])
        return validate_extract(Path(input_dir))

    def score_job(_input: Path, output: str, **_kwargs: object) -> tuple[int, object]:
        seen["ratings"] = output
        raise ValueError("stopped here")

    monkeypatch.setattr(pipelines.spark.job, "write_spark_features", features_job)
    monkeypatch.setattr(model.spark_scoring, "score_extract_spark", score_job)
    uri = "hdfs://namenode:8020/hub/features.parquet"
    assert _features(extract_dir, uri, "--engine", "spark").exit_code == 0
    runner.invoke(app, ["score", "--input", str(extract_dir), "--output",
                        "s3a://bucket/ratings.parquet", "--engine", "spark"])
    assert seen == {"features": uri, "manifest": "hdfs://namenode:8020/hub/features.manifest.json",
                    "ratings": "s3a://bucket/ratings.parquet"}


def test_the_manifest_is_written_through_sparks_own_file_system(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    uri = f"file://{tmp_path}/uri/features.parquet"
    result = _features(extract_dir, uri, "--engine", "spark", "--master", "local[2]")
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "uri" / "features.parquet")) == 200
    manifest = (tmp_path / "uri" / "features.manifest.json").read_text(encoding="utf-8")
    assert '"manifest_version"' in manifest
    assert sorted(p.name for p in (tmp_path / "uri").iterdir()) == [
        "features.manifest.json", "features.parquet"]


def test_an_extract_at_a_uri_is_read_through_sparks_file_system(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    # file:// goes through the same Hadoop file system code as hdfs:// or s3a://: the
    # feed files are copied to the driver and validated there, other files left behind.
    shared = tmp_path / "shared"
    shared.mkdir()
    for feed in extract_dir.iterdir():
        (shared / feed.name).write_bytes(feed.read_bytes())
    (shared / "notes.txt").write_text("not a feed")
    local = _features(extract_dir, tmp_path / "local.parquet")
    remote = _features(f"file://{shared}", tmp_path / "remote.parquet",
                       "--engine", "spark", "--master", "local[2]")
    assert (local.exit_code, remote.exit_code) == (0, 0), remote.output
    assert_same_table(pd.read_parquet(tmp_path / "local.parquet"),
                      pd.read_parquet(tmp_path / "remote.parquet"))
    missing = _features(f"file://{tmp_path}/nowhere", tmp_path / "x.parquet",
                        "--engine", "spark", "--master", "local[2]")
    assert missing.exit_code == 1 and missing.output.startswith("error: ")
    assert "input directory not found" in missing.output
    a_file = _features(f"file://{shared}/notes.txt", tmp_path / "x.parquet",
                       "--engine", "spark", "--master", "local[2]")
    assert a_file.exit_code == 1 and a_file.output.startswith("error: ")
    assert "is a file, not the extract's directory" in a_file.output
    unknown = _features("nosuch://host/extract", tmp_path / "x.parquet", "--engine", "spark",
                        "--master", "local[2]")
    assert unknown.exit_code == 1 and len(unknown.output.strip().splitlines()) == 1
    assert 'cannot be read (org.apache.hadoop.fs.UnsupportedFileSystemException: No FileSystem ' \
        'for scheme "nosuch")' in unknown.output


def test_an_extract_and_its_table_on_a_file_system_other_than_the_local_one(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    # Hadoop's view file system (viewfs://, a client-side mount table over other file
    # systems, in every Hadoop client) stands for a remote one: the input is listed and
    # copied, the table and the manifest written, all through Spark's Hadoop file system
    # under another scheme. A user sets the mount table with `--conf
    # spark.hadoop.fs.viewfs.mounttable...`; the tests' session exists already, so it is
    # set on its Hadoop configuration.
    hub = tmp_path / "hub"
    (hub / "extract").mkdir(parents=True)
    for feed in extract_dir.iterdir():
        (hub / "extract" / feed.name).write_bytes(feed.read_bytes())
    configuration = spark.sparkContext._jsc.hadoopConfiguration()
    configuration.set("fs.viewfs.mounttable.hub.link./data", f"file://{hub}")
    try:
        result = _features("viewfs://hub/data/extract", "viewfs://hub/data/out/features.parquet",
                           "--engine", "spark", "--master", "local[2]")
    finally:
        configuration.unset("fs.viewfs.mounttable.hub.link./data")
    assert result.exit_code == 0, result.output
    assert _features(extract_dir, tmp_path / "local.parquet").exit_code == 0
    assert_same_table(pd.read_parquet(tmp_path / "local.parquet"),
                      pd.read_parquet(hub / "out" / "features.parquet"))
    assert (hub / "out" / "features.manifest.json").is_file()


def test_a_refusal_of_an_extract_at_a_uri_names_it_as_the_user_did(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    """Validation runs on a copy in a temporary folder: the error names the URI."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "events_police.csv").write_bytes((extract_dir / "events_police.csv").read_bytes())
    result = _features(f"file://{shared}/", tmp_path / "x.parquet", "--engine", "spark",
                       "--master", "local[2]")
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: file://{shared}: required feed 'referrals' missing "
        "(referrals.csv or referrals.parquet)")


def test_an_extract_whose_every_referral_is_quarantined_is_refused_alike_on_both(
    spark: Any, extract_dir: Path, tmp_path: Path
) -> None:
    """Both wrote an empty table and succeeded; both refuse it now, in the same words."""
    broken = _with_referrals(extract_dir, tmp_path / "broken", age_years="130")
    single = _features(broken, tmp_path / "single.parquet")
    on_spark = _features(broken, tmp_path / "spark.parquet", "--engine", "spark",
                         "--master", "local[2]")
    assert (single.exit_code, on_spark.exit_code) == (1, 1), on_spark.output
    assert single.output.strip() == on_spark.output.strip()
    said = " ".join(single.output.split())
    assert said.startswith("error: referrals.csv: no referral was accepted (all ")
    assert "the commonest reason: age_years: " in said and "extract date" not in said
    assert not (tmp_path / "single.parquet").exists()
    assert not (tmp_path / "spark.parquet").exists()


def test_a_folder_named_as_a_feed_at_a_uri_is_refused_as_on_one_machine(
    extract_dir: Path, tmp_path: Path
) -> None:
    """It was not copied, and the police were taken to have shared nothing."""
    shared = tmp_path / "shared"
    (shared / "events_police.parquet").mkdir(parents=True)
    (shared / "referrals.csv").write_bytes((extract_dir / "referrals.csv").read_bytes())
    pd.read_csv(extract_dir / "events_police.csv").to_parquet(
        shared / "events_police.parquet" / "part-00000.parquet")
    single = _features(shared, tmp_path / "single.parquet")
    on_spark = _features(f"file://{shared}/", tmp_path / "x.parquet", "--engine", "spark",
                         "--master", "local[2]")
    assert (single.exit_code, on_spark.exit_code) == (1, 1), on_spark.output
    assert on_spark.output.strip() == single.output.strip()
    assert single.output.startswith("error: events_police.parquet: is a folder, not a file")
