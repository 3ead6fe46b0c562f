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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import model.openmp  # noqa: F401  (first: sets the OpenMP wait policy before scikit-learn loads)
from data_contracts.csv_output import write_csv
from data_contracts.feed_files import find_feed_files
from data_contracts.vocab import HOUSEHOLD_MEMBERS, OUTCOMES, REFERRALS
from model.audit_since import referrals_since
from model.data import PreparedExtract, prepare_extract
from model.fairness import AUDITED, FAIRNESS_DIR, audit_fairness
from model.fairness_report import ReportRenderer, audit_frame, fairness_files
from model.fairness_results import FairnessAudit
from model.feed_notices import referrals_concerned
from model.golden import build_golden_set
from model.governance import HEADLINE_METRICS, load_governance
from model.importance import global_importance
from model.late_warning import FeedNotice, late_metadata
from model.monitor_run import reference_for
from model.monitoring_reference import METADATA_KEY as MONITORING_KEY
from model.outcome_gaps import OUTCOME_GAPS, outcome_gaps
from model.registry import ModelRegistry
from model.registry_records import VersionInfo
from model.risk_model import RiskModel
from model.run_artifacts import EXTRACT_DATE_WARNINGS, FEATURE_MANIFEST
from model.run_tags import environment_tags
from model.score import rate_table
from model.score import score_extract as score_extract  # its home is model.score now
from model.service import explainer_for
from model.train import TrainingConfig, TrainingResult, train_model, trained_on, training_plots
from pipelines.manifest import FEATURE_NAMES, write_manifest

Progress = Callable[[str], None]
# Writes a registered version's model card into its run (`api.model_card.log_card`; it
# renders with the service's templates, so the layer above hands it in).
CardWriter = Callable[[ModelRegistry, VersionInfo], None]
GLOBAL_SHAP_ROWS = 2_000


@dataclass(frozen=True)
class TrainOutcome:
    """What a training run produced, for the command's summary."""

    version: VersionInfo
    result: TrainingResult
    seconds: dict[str, float]
    quarantined_rows: dict[str, int] = field(default_factory=dict)  # per feed, as scoring's
    shared_nothing: tuple[str, ...] = ()  # agencies with no accepted record
    without_household: bool = False  # the extract linked no household member
    # Of agencies late or silent in the extract, with the referrals each concerned.
    notices: tuple[tuple[FeedNotice, int], ...] = ()


def _quiet(_stage: str) -> None:
    return None


def _write_global_explanations(result: TrainingResult, prepared: PreparedExtract,
                               folder: Path) -> None:
    """Mean |SHAP| per feature and per agency on test referrals, beeswarm and dependence plots."""
    rows = prepared.features.set_index("referral_id").loc[result.test_ids[:GLOBAL_SHAP_ROWS]]
    matrix = rows[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
    importance = global_importance(explainer_for(result.model), matrix)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(importance.by_factor, folder / "mean_abs_shap_by_factor.csv")
    write_csv(importance.by_feature, folder / "mean_abs_shap_by_feature.csv")
    write_csv(importance.by_agency, folder / "mean_abs_shap_by_agency.csv")
    importance.plots(folder)


def _write_evaluation(result: TrainingResult, folder: Path, extras: dict[str, object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    training_plots(result, folder)
    write_manifest(folder / FEATURE_MANIFEST)  # the run's copy (`model.trained_manifest`)
    for name, table in result.tables.items():
        label = name.removeprefix("rates_by_")
        write_csv(table.rename_axis(label).reset_index(), folder / f"{name}.csv")
    report = {"split": result.split.summary(), "counts": result.counts,
              "since": None if result.since is None else result.since.isoformat(),
              OUTCOME_GAPS: [gap.to_json() for gap in result.outcome_gaps], **extras}
    (folder / "training_report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


def _monitoring_reference(result: TrainingResult, prepared: PreparedExtract) -> dict[str, Any]:
    """What `safeguard monitor` compares with: the referrals from the test period on."""
    assert prepared.labels is not None
    return reference_for(result.model, prepared.features,
                         start=result.split.test_cutoff.date(), end=prepared.extract_date,
                         labels=prepared.labels, members=prepared.members)


def audit_test_period(result: TrainingResult, prepared: PreparedExtract, *, version: str,
                      n_boot: int | None = None) -> FairnessAudit:
    """The fairness audit of a freshly trained model on its test referrals.

    Resamples default to the settings' `train_bootstrap_resamples` (fewer than a full
    audit's, to keep training quick).
    """
    assert prepared.labels is not None
    governance = result.model.governance
    rows = prepared.features.set_index("referral_id").loc[result.test_ids].reset_index()
    ratings = rate_table(result.model, rows, model_version=version)
    frame = audit_frame(prepared.feeds[REFERRALS], prepared.labels, ratings, rows,
                        members=prepared.members)
    return audit_fairness(frame, governance, model_version=version,
                          n_boot=n_boot or governance.fairness.train_bootstrap_resamples)


def train_and_register(input_dir: Path, *, registry: ModelRegistry, experiment: str,
                       config: TrainingConfig, governance_path: Path | None = None,
                       extract_date: dt.date | None = None,
                       since: dt.date | None = None,
                       progress: Progress = _quiet,
                       render_report: ReportRenderer | None = None,
                       card_writer: CardWriter | None = None) -> TrainOutcome:
    """Train on an extract and register the model as a new version (not promoted).

    The run also gets the fairness audit of the test period under `fairness/`: its JSON,
    and its HTML report when a renderer is given (the command line passes the service's).
    Last, the model card (`card_writer`), which names the version and reads the audit.
    `since`: train only on referrals dated from then (`model.train.train_model`).
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    governance, governance_text = load_governance(governance_path)
    # Work that needs none of the data, done on background threads while the extract is
    # read and the model fits: MLflow's import and store (mostly Python, about 4.5 CPU
    # seconds with a new store's migrations) and the git commands of the run's tags. A
    # missing extract folder, or a store that cannot be reached or opened, is refused
    # before any of it starts (the store's error came after the fit); on any failure the
    # work not yet started is dropped rather than waited for.
    if OUTCOMES not in find_feed_files(input_dir).feeds:
        raise ValueError(f"{input_dir}: training needs outcomes; the extract has no outcomes "
                         "feed (outcomes.csv or outcomes.parquet)")
    registry.check_reachable()
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="train-setup")
    try:
        store_ready = background.submit(registry.connect)
        environment = background.submit(environment_tags)
        prepared = prepare_extract(input_dir, extract_date=extract_date, progress=progress)
        assert prepared.labels is not None
        fingerprint = background.submit(lambda: prepared.fingerprint)  # reads the extract
        # SHAP's plots come after the fit; its import (about 2 s of Python) runs beside it.
        background.submit(import_module, "shap")
        seconds["prepare"] = time.perf_counter() - started
        progress("fitting, calibrating and evaluating")
        result = train_model(prepared.features, prepared.labels, members=prepared.members,
                             governance=governance, governance_text=governance_text,
                             config=config, since=since)
        result.model.metadata |= trained_on(prepared.extract_date) | {
            "extract_fingerprint": fingerprint.result(),
            "headline_metrics": {k: result.metrics[k] for k in HEADLINE_METRICS},
            HOUSEHOLD_MEMBERS: not prepared.without_household,  # read by `safeguard monitor`
        } | late_metadata(prepared.notices, extract_date=prepared.extract_date)
        result.model.metadata[MONITORING_KEY] = _monitoring_reference(result, prepared)
        seconds["fit"] = time.perf_counter() - started - seconds["prepare"]
        store_ready.result()  # raises what opening the store raised
        tags = environment.result() | {"extract_fingerprint": prepared.fingerprint,
                                       "extract_date": prepared.extract_date.isoformat(),
                                       "input": str(input_dir)}
    except BaseException:
        background.shutdown(wait=False, cancel_futures=True)
        raise
    background.shutdown()
    progress("recording the run and registering the model")
    run_id = registry.start_run(experiment, run_name=f"train-{prepared.extract_date}")
    params = config.params() | {"n_features": len(result.model.feature_names),
                                "calibration": result.model.calibrator.method,
                                "quarantined_rows": prepared.quarantined,
                                **{f"n_{k}": v for k, v in result.counts.items()}}
    registry.log_run(run_id, params=params, metrics=result.metrics, tags=tags)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_evaluation(result, folder / "evaluation",
                          {"quarantined_rows": prepared.quarantined,
                           "agencies_without_records": list(prepared.shared_nothing),
                           EXTRACT_DATE_WARNINGS: list(prepared.date_warnings)})
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
    progress("auditing fairness on the test referrals")
    audit = audit_test_period(result, prepared, version=version.version)
    for name, text in fairness_files(audit, render_report).items():
        registry.log_text(run_id, text, f"{FAIRNESS_DIR}/{name}")
    seconds["fairness"] = (time.perf_counter() - started - seconds["prepare"] - seconds["fit"]
                           - seconds["register"])
    if card_writer is not None:  # last: the card names the version and reads the audit
        progress("writing the model card")
        card_writer(registry, version)
    seconds["total"] = time.perf_counter() - started
    concerned = referrals_concerned(prepared.notices, prepared.features["referral_date"])
    return TrainOutcome(version, result, seconds, prepared.quarantined_rows,
                        prepared.shared_nothing, prepared.without_household,
                        tuple(zip(prepared.notices, concerned, strict=True)))


def audit_extract(input_dir: Path, *, registry: ModelRegistry, reference: str,
                  extract_date: dt.date | None = None, n_boot: int | None = None,
                  since: dt.date | None = None, progress: Progress = _quiet) -> FairnessAudit:
    """The fairness audit of a registered model on an extract with outcomes.

    Its labelled referrals (follow-up complete; with `since`, those dated on or after
    it, `model.audit_since`) are rated by the batch path (`model.score.rate_table`), then
    audited with the model's own governance settings.

    Raises:
        ValueError: When the extract has no outcomes feed or no labelled referral (since
            `since`).
    """
    progress(f"loading model {reference}")
    loaded = registry.load(reference)
    prepared = prepare_extract(input_dir, extract_date=extract_date, progress=progress)
    assert prepared.labels is not None
    complete = prepared.labels["follow_up_complete"].to_numpy(dtype=bool)
    if OUTCOMES not in prepared.feeds or not complete.any():
        missing = ("no outcomes feed" if OUTCOMES not in prepared.feeds
                   else "no referral with a complete follow-up")
        raise ValueError(f"{input_dir}: a fairness audit needs outcomes; the extract has {missing}")
    progress("scoring the labelled referrals")
    labelled = referrals_since(prepared.features.loc[complete].reset_index(drop=True), since)
    ratings = rate_table(loaded.model, labelled, model_version=loaded.info.version)
    progress("auditing fairness")
    frame = audit_frame(prepared.feeds[REFERRALS], prepared.labels, ratings, labelled,
                        members=prepared.members)
    audit = audit_fairness(frame, loaded.model.governance, model_version=loaded.info.version,
                           n_boot=n_boot)
    y = frame.set_index("referral_id").loc[labelled["referral_id"], "label"]
    gaps = outcome_gaps(labelled["referral_date"], y.to_numpy(dtype=np.int64))
    covered = audited_referrals(loaded.model, labelled, extract_date=prepared.extract_date,
                                fingerprint=prepared.fingerprint)
    return replace(audit, extra={**audit.extra, AUDITED: covered | {
        "since": None if since is None else since.isoformat(),
        "labelled_in_extract": int(complete.sum()),  # `model.audit_record` compares
        "default_resamples": loaded.model.governance.fairness.bootstrap_resamples},
        OUTCOME_GAPS: [gap.to_json() for gap in gaps]})


def audited_referrals(model: RiskModel, labelled: pd.DataFrame, *, extract_date: dt.date,
                      fingerprint: str | None = None) -> dict[str, Any]:
    """What an audit covered: the extract's date, its labelled referrals' dates, how
    many are dated before the model's test period (its training and validation referrals,
    when the extract is or overlaps the training extract: outcomes the model learned from,
    on which its figures look better than they will on new referrals), and whether the
    extract is the very one the model was trained on (its fingerprint; None: not known).
    A different fingerprint does not rule out an overlap: a later extract of the same hub
    holds the earlier referrals too."""
    dates = pd.to_datetime(labelled["referral_date"])
    period = model.metadata.get(MONITORING_KEY, {}).get("period", {})
    test_from = period.get("from")
    before = (None if test_from is None
              else int((dates < pd.Timestamp(test_from)).sum()))
    return {"extract_date": extract_date.isoformat(),
            "referrals_from": dates.min().date().isoformat() if len(dates) else None,
            "referrals_to": dates.max().date().isoformat() if len(dates) else None,
            "model_test_from": test_from, "before_test_period": before,
            "training_extract": (None if fingerprint is None
                                 or "extract_fingerprint" not in model.metadata
                                 else model.metadata["extract_fingerprint"] == fingerprint)}


def default_config(seed: int) -> TrainingConfig:
    """The default hyper-parameters with a given seed."""
    return replace(TrainingConfig(), seed=seed)
