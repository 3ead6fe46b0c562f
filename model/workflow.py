"""The two jobs, wired: train-and-register, and score an extract.

validate -> features -> labels -> split -> fit -> calibrate -> evaluate -> register.
Each step is a function of its own module; this module only connects them.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from model.data import PreparedExtract, prepare_extract
from model.golden import build_golden_set
from model.governance import HEADLINE_METRICS, load_governance
from model.importance import global_importance
from model.registry import ModelRegistry, VersionInfo, environment_tags
from model.score import check_output_path, rate_table, write_table
from model.service import explainer_for
from model.train import TrainingConfig, TrainingResult, train_model, trained_on, training_plots
from pipelines.manifest import FEATURE_NAMES, write_manifest

Progress = Callable[[str], None]
GLOBAL_SHAP_ROWS = 2_000


@dataclass(frozen=True)
class TrainOutcome:
    """What a training run produced, for the command's summary."""

    version: VersionInfo
    result: TrainingResult
    seconds: dict[str, float]


def _quiet(_stage: str) -> None:
    return None


def _write_global_explanations(result: TrainingResult, prepared: PreparedExtract,
                               folder: Path) -> None:
    """Mean |SHAP| per feature and per agency on test referrals, beeswarm and dependence plots."""
    rows = prepared.features.set_index("referral_id").loc[result.test_ids[:GLOBAL_SHAP_ROWS]]
    matrix = rows[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
    importance = global_importance(explainer_for(result.model), matrix)
    folder.mkdir(parents=True, exist_ok=True)
    importance.by_factor.to_csv(folder / "mean_abs_shap_by_factor.csv", index=False)
    importance.by_feature.to_csv(folder / "mean_abs_shap_by_feature.csv", index=False)
    importance.by_agency.to_csv(folder / "mean_abs_shap_by_agency.csv", index=False)
    importance.plots(folder)


def _write_evaluation(result: TrainingResult, folder: Path, extras: dict[str, object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    training_plots(result, folder)
    write_manifest(folder / "feature_manifest.json")
    for name, table in result.tables.items():
        table.to_csv(folder / f"{name}.csv", index_label=name.removeprefix("rates_by_"))
    report = {"split": result.split.summary(), "counts": result.counts, **extras}
    (folder / "training_report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


def train_and_register(input_dir: Path, *, registry: ModelRegistry, experiment: str,
                       config: TrainingConfig, governance_path: Path | None = None,
                       extract_date: dt.date | None = None,
                       progress: Progress = _quiet) -> TrainOutcome:
    """Train on an extract and register the model as a new version (not promoted)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    governance, governance_text = load_governance(governance_path)
    prepared = prepare_extract(input_dir, extract_date=extract_date, progress=progress)
    assert prepared.labels is not None
    seconds["prepare"] = time.perf_counter() - started
    progress("fitting, calibrating and evaluating")
    result = train_model(prepared.features, prepared.labels, members=prepared.members,
                         governance=governance, governance_text=governance_text, config=config)
    result.model.metadata |= trained_on(prepared.extract_date) | {
        "extract_fingerprint": prepared.fingerprint,
        "headline_metrics": {k: result.metrics[k] for k in HEADLINE_METRICS},
    }
    seconds["fit"] = time.perf_counter() - started - seconds["prepare"]
    progress("recording the run and registering the model")
    run_id = registry.start_run(experiment, run_name=f"train-{prepared.extract_date}")
    tags = environment_tags() | {"extract_fingerprint": prepared.fingerprint,
                                 "extract_date": prepared.extract_date.isoformat(),
                                 "input": str(input_dir)}
    params = config.params() | {"n_features": len(result.model.feature_names),
                                "calibration": result.model.calibrator.method,
                                "quarantined_rows": prepared.quarantined,
                                **{f"n_{k}": v for k, v in result.counts.items()}}
    registry.log_run(run_id, params=params, metrics=result.metrics, tags=tags)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_evaluation(result, folder / "evaluation",
                          {"quarantined_rows": prepared.quarantined})
        registry.log_files(run_id, folder / "evaluation", "evaluation")
        progress("explaining the model for governance")
        _write_global_explanations(result, prepared, folder / "explanations")
        registry.log_files(run_id, folder / "explanations", "explanations")
    golden = build_golden_set(result.model, prepared.feeds, result.test_ids,
                              result.test_arrays["probability"])
    version = registry.register(
        run_id, result.model, golden,
        description=f"Trained on the extract of {prepared.extract_date} "
                    f"({result.counts['labelled']:,} labelled referrals)")
    seconds["register"] = time.perf_counter() - started - seconds["prepare"] - seconds["fit"]
    seconds["total"] = time.perf_counter() - started
    return TrainOutcome(version, result, seconds)


def score_extract(input_dir: Path, output: Path, *, registry: ModelRegistry, reference: str,
                  extract_date: dt.date | None = None, explain: bool = True,
                  progress: Progress = _quiet) -> tuple[pd.DataFrame, VersionInfo]:
    """Score every referral of an extract with a registered model; write CSV or Parquet."""
    check_output_path(output)
    progress(f"loading model {reference}")
    loaded = registry.load(reference)
    prepared = prepare_extract(input_dir, extract_date=extract_date, with_labels=False,
                               progress=progress)
    progress("scoring and explaining" if explain else "scoring")
    explainer = explainer_for(loaded.model) if explain else None
    table = rate_table(loaded.model, prepared.features, model_version=loaded.info.version,
                       explainer=explainer)
    progress("writing")
    write_table(table, output)
    return table, loaded.info


def default_config(seed: int) -> TrainingConfig:
    """The default hyper-parameters with a given seed."""
    return replace(TrainingConfig(), seed=seed)
