"""`safeguard score --engine spark`: the single-machine ratings and explanations, with the
registered model loaded and checked on the executors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from model.registry import ModelRegistry, RegistryError
from model.spark_scoring import score_extract_spark
from model.train import TrainingConfig
from model.workflow import score_extract, train_and_register
from pipelines.synth import SynthConfig, generate_extract

# One partition: its 3,000 rows go to the model in one batch, whose explanation texts
# are joined from chunks of 2,500 rows (model.explain_batch.CHUNK_ROWS), as they are on
# a real extract: the output must reach Spark in one Arrow array per column.
SETTINGS = {"spark.sql.shuffle.partitions": "1"}
EXTRACT_DATE = dt.date(2026, 9, 30)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelRegistry, Path]:
    """A model trained on a small synthetic extract and registered (version 1)."""
    folder = tmp_path_factory.mktemp("spark_model")
    extract = folder / "extract"
    generate_extract(
        SynthConfig(n_referrals=3_000, seed=31, file_format="parquet", corrupt=False),
        out_dir=extract,
    )
    registry = ModelRegistry(
        f"sqlite:///{folder / 'mlflow.db'}",
        model_name="spark-test",
        artifact_root=str(folder / "artifacts"),
    )
    with threadpool_limits(1):
        train_and_register(
            extract, registry=registry, experiment="t", config=TrainingConfig(max_iter=30)
        )
    return registry, extract


def _probation_quarantined_police_late(extract: Path, folder: Path) -> Path:
    """The extract with every probation row breaking the feed specification, and every
    police record recorded 60 to 200 days after its event (those not yet recorded by the
    extract date left out)."""
    folder.mkdir()
    for feed in extract.iterdir():
        if feed.name == "events_probation.parquet":
            rows = pd.read_parquet(feed)
            assert len(rows) > 0
            rows.assign(event_type="not_a_probation_event").to_parquet(folder / feed.name)
        elif feed.name == "events_police.parquet":
            rows = pd.read_parquet(feed)
            days = np.random.default_rng(5).integers(60, 201, len(rows))
            recorded = pd.to_datetime(rows["event_date"]) + pd.to_timedelta(days, unit="D")
            rows["recorded_date"] = recorded.dt.strftime("%Y-%m-%d")
            rows[recorded <= pd.Timestamp(EXTRACT_DATE)].to_parquet(folder / feed.name)
        else:
            (folder / feed.name).symlink_to(feed)
    return folder


def test_spark_ratings_and_explanations_equal_the_single_machine_ones(
    spark: Any, registered: tuple[ModelRegistry, Path], tmp_path: Path
) -> None:
    registry, extract = registered
    extract = _probation_quarantined_police_late(extract, tmp_path / "extract")
    scored = score_extract(extract, tmp_path / "single.parquet", registry=registry, reference="1",
                           extract_date=EXTRACT_DATE)
    on_spark = score_extract_spark(
        extract,
        str(tmp_path / "spark.parquet"),
        registry=registry,
        reference="1",
        extract_date=EXTRACT_DATE,
        settings=SETTINGS,
    )
    single = scored.table
    assert single is not None and on_spark.table is None
    assert (on_spark.rows, on_spark.info.version) == (scored.rows, "1") == (len(single), "1")
    # Probation shared rows, every one quarantined: it shared no record, on both engines.
    assert on_spark.shared_nothing == scored.shared_nothing == ("probation",)
    assert single["agencies_not_seen"].str.contains("probation").all()
    # and every referral's warnings say so first (the executors are told too: compared below)
    assert single["warnings"].str.startswith('["Probation shared no records in this '
                                             'extract').all()
    # then, from the latest 182 days on, that police records arrive late (the executors
    # are told too, and explain each referral with what applies to its date: compared below)
    late = single["warnings"].str.contains('", "Police records arrive late in this extract',
                                           regex=False)
    dates = pd.read_parquet(extract / "referrals.parquet").set_index("referral_id")
    recent = pd.to_datetime(dates.loc[single["referral_id"], "referral_date"]) >= "2026-04-02"
    assert late.tolist() == recent.tolist() and 0 < late.sum() < len(late)
    ours = pd.read_parquet(tmp_path / "spark.parquet")
    assert list(ours.columns) == list(single.columns)
    exact = [c for c in single.columns if c not in ("probability", "raw_score", "base_value")]
    pd.testing.assert_frame_equal(ours[exact], single[exact], check_dtype=False)
    for column in ("probability", "raw_score", "base_value"):
        assert (ours[column] - single[column]).abs().max() <= 1e-9, column
    assert single["top_factors"].str.len().gt(2).any(), "no explanation to compare"


def _changed_copy(registry: ModelRegistry) -> str:
    """A new version registering version 1's model, then one of its files changed."""
    loaded = registry.load("1")
    run_id = registry.start_run("t", run_name="copy")
    version = registry.register(run_id, loaded.model, loaded.golden, description="copy").version
    folder = Path(urlparse(registry.resolve(version).source).path)
    target = next(p for p in sorted(folder.rglob("*.json")))
    target.write_text(target.read_text(encoding="utf-8") + " ", encoding="utf-8")
    return version


def _previous_ratings(path: Path) -> bytes:
    path.mkdir()
    (path / "part-0.parquet").write_bytes(b"the ratings of an earlier run")
    return (path / "part-0.parquet").read_bytes()


def test_a_changed_model_is_refused_before_spark_starts_and_earlier_ratings_are_kept(
    registered: tuple[ModelRegistry, Path], tmp_path: Path
) -> None:
    """No `spark` fixture: the driver's own check refuses it before any session."""
    registry, extract = registered
    version = _changed_copy(registry)
    with pytest.raises(RegistryError) as single:
        registry.load(version)
    output = tmp_path / "ratings.parquet"
    before = _previous_ratings(output)
    with pytest.raises(RegistryError) as on_spark:
        score_extract_spark(extract, str(output), registry=registry, reference=version,
                            explain=False, settings=SETTINGS)
    assert str(on_spark.value) == str(single.value)
    assert "checksum" in str(on_spark.value)
    assert (output / "part-0.parquet").read_bytes() == before


def test_the_executors_check_the_model_themselves_and_a_failed_run_keeps_earlier_ratings(
    spark: Any, registered: tuple[ModelRegistry, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The driver's check is skipped here (as if the model changed after it): each
    executor's Python worker loads the model through the service's check and refuses it."""
    registry, extract = registered
    version = _changed_copy(registry)
    with pytest.raises(RegistryError) as single:
        registry.load(version)
    monkeypatch.setattr(ModelRegistry, "load", lambda self, version: None)  # the driver's only
    output = tmp_path / "ratings.parquet"
    before = _previous_ratings(output)
    with pytest.raises(RegistryError) as on_spark:
        score_extract_spark(extract, str(output), registry=registry, reference=version,
                            explain=False, settings=SETTINGS)
    assert str(on_spark.value) == str(single.value)
    assert "checksum" in str(on_spark.value)
    assert (output / "part-0.parquet").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ratings.parquet"]  # no partial folder left


def test_score_names_a_setting_spark_refuses_in_one_line(
    spark: Any, registered: tuple[ModelRegistry, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    registry, extract = registered
    monkeypatch.setenv("SAFEGUARD_MLFLOW_TRACKING_URI", registry.tracking_uri)
    monkeypatch.setenv("SAFEGUARD_MLFLOW_ARTIFACT_ROOT", str(registry.artifact_root))
    monkeypatch.setenv("SAFEGUARD_MODEL_NAME", registry.model_name)
    # No store yet (a file that does not exist): no word on the version's standing.
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    output = tmp_path / "ratings.parquet"
    result = CliRunner().invoke(app, [
        "score", "--input", str(extract), "--output", str(output), "--model", "1",
        "--engine", "spark", "--master", "local[2]",
        "--conf", "spark.sql.parquet.compression.codec=bogus"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: --conf spark.sql.parquet.compression.codec=bogus: ")
    assert "It should be one of" in line and "SQLSTATE" not in line
    assert not output.exists()


def test_score_on_spark_out_of_heap_ends_in_one_line_naming_memory(
    spark: Any, registered: tuple[ModelRegistry, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real OutOfMemoryError in the JVM as the ratings are written (the model's fixture
    is this module's, hence the test here)."""
    from typer.testing import CliRunner

    from api.cli import app
    from tests.spark.test_out_of_memory import OUT_OF_HEAP_1G, exhaust_heap

    registry, extract = registered
    monkeypatch.setenv("SAFEGUARD_MLFLOW_TRACKING_URI", registry.tracking_uri)
    monkeypatch.setenv("SAFEGUARD_MLFLOW_ARTIFACT_ROOT", str(registry.artifact_root))
    monkeypatch.setenv("SAFEGUARD_MODEL_NAME", registry.model_name)
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setattr("model.spark_scoring.write_parquet", exhaust_heap)
    result = CliRunner().invoke(app, [
        "score", "--input", str(extract), "--output", str(tmp_path / "ratings.parquet"),
        "--model", "1", "--engine", "spark", "--master", "local[2]"])
    assert (result.exit_code, result.output.strip()) == (1, OUT_OF_HEAP_1G)
