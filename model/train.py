"""Training: labels -> temporal grouped split -> fit -> calibrate -> evaluate.

Pure functions over frames and arrays: reading the extract is `model.data`, MLflow
is `model.registry`, and `model.cli` wires them together.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from data_contracts.vocab import LABEL_WINDOW_DAYS
from model.calibration import choose_calibrator
from model.evaluate import (
    calibration_plot,
    classification_metrics,
    rates_by,
    score_distribution_plot,
)
from model.forest_predict import ForestPredictor
from model.governance import GovernanceSettings
from model.model_matrix import classifier_input
from model.outcome_gaps import OutcomeGap, outcome_gaps
from model.reference import reference_values
from model.risk_model import TIED_EDGES_MIDDLE, RiskModel, ventile_edges
from model.split import MIN_TO_SPLIT, TEST_PERIOD_PREFIX, Split, temporal_group_split
from pipelines.feature_spec import NO_RECORD_DAYS
from pipelines.manifest import FEATURE_NAMES, SPECS_BY_NAME, model_feature_names


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters; the defaults are what the benches were measured with."""

    seed: int = 0
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    learning_rate: float = 0.1
    max_iter: int = 300
    n_iter_no_change: int = 10
    max_bins: int = 255
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 50
    l2_regularization: float = 1.0
    baseline_c: float = 0.05

    def params(self) -> dict[str, Any]:
        """As MLflow parameters."""
        return dict(self.__dict__)


@dataclass
class TrainingResult:
    """A trained, calibrated, evaluated model and everything its run should record."""

    model: RiskModel
    baseline: Pipeline
    split: Split
    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame]
    test_ids: list[str]
    test_arrays: dict[str, np.ndarray]
    counts: dict[str, int] = field(default_factory=dict)
    # Stretches of the labelled referrals whose outcomes look unrecorded (`model.outcome_gaps`).
    outcome_gaps: list[OutcomeGap] = field(default_factory=list)
    since: dt.date | None = None  # training used only referrals from this date (`--since`)
    # The baseline's columns: every varying one (the classifier's leave out those it could
    # never split on, `_can_split`).
    baseline_features: tuple[str, ...] = ()


def fit_classifier(X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, *,
                   feature_names: list[str], config: TrainingConfig
                   ) -> HistGradientBoostingClassifier:
    """Gradient boosting with the manifest's monotonic constraints, early-stopped on validation."""
    classifier = HistGradientBoostingClassifier(
        learning_rate=config.learning_rate,
        max_iter=config.max_iter,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        monotonic_cst=[SPECS_BY_NAME[name].monotonic_constraint for name in feature_names],
        max_bins=config.max_bins,
        early_stopping=True,
        n_iter_no_change=config.n_iter_no_change,
        random_state=config.seed,
    )
    return classifier.fit(X, y, X_val=X_val, y_val=y_val)


def _signed_log1p(X: np.ndarray) -> np.ndarray:
    return np.sign(X) * np.log1p(np.abs(X))


def _median_or_zero(values: np.ndarray) -> float:
    """A column's median over its recorded values; 0 when it has none (as scikit-learn's
    ``strategy="median"`` with ``keep_empty_features``)."""
    return float(np.median(values)) if values.size else 0.0


def fit_baseline(X: np.ndarray, y: np.ndarray, *, config: TrainingConfig) -> Pipeline:
    """A regularised logistic regression on log counts, missing values flagged.

    Missing values take the column's median, computed per column (`_median_or_zero`):
    the same statistics as ``strategy="median"``, whose masked-array median took 2.4 of
    the 5.2 CPU seconds of this fit on 49,000 training referrals x 499 features.
    """
    baseline = make_pipeline(
        SimpleImputer(strategy=_median_or_zero, add_indicator=True, keep_empty_features=True),
        FunctionTransformer(_signed_log1p),
        StandardScaler(),
        LogisticRegression(C=config.baseline_c, max_iter=2000),
    )
    return baseline.fit(X, y)


def _constant_columns(X: np.ndarray) -> np.ndarray:
    """Columns with one value (or only missing) in every row: nothing to learn from them."""
    first = X[:1]
    same = (first == X) | (np.isnan(X) & np.isnan(first))
    return np.asarray(same.all(axis=0))


def _can_split(matrix: np.ndarray, min_samples_leaf: int) -> np.ndarray:
    """The columns the classifier could split on. A split leaves every row of a column's
    commonest value (or every empty cell) on one side, so a column with fewer than
    ``min_samples_leaf`` other rows has no split with that many on both sides: without
    it every tree is the same (the same splits win), and the fit reads less (100,000
    referrals' training rows: 79 of 505 columns).

    The commonest value's rows are counted at least as those of 0, of the empty cells,
    or of the column's least or greatest value, whichever are most: a column whose
    commonest value is another is kept, never dropped when it could split.
    """
    least, greatest = np.fmin.reduce(matrix, axis=0), np.fmax.reduce(matrix, axis=0)
    common = np.maximum.reduce([np.count_nonzero(matrix == 0, axis=0),
                                np.count_nonzero(np.isnan(matrix), axis=0),
                                np.count_nonzero(matrix == least, axis=0),
                                np.count_nonzero(matrix == greatest, axis=0)])
    return np.asarray(len(matrix) - common >= min_samples_leaf)


def _labelled(features: pd.DataFrame, labels: pd.DataFrame, since: dt.date | None
              ) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The referrals to train on (follow-up complete, dated from `since`), which referrals
    have a complete follow-up, and how many of those are dated before `since`."""
    merged = features.merge(labels, on="referral_id", how="left", validate="one_to_one")
    complete = merged["follow_up_complete"].fillna(False).to_numpy(dtype=bool)
    kept = complete.copy()
    if since is not None:
        kept &= (pd.to_datetime(merged["referral_date"]) >= pd.Timestamp(since)).to_numpy()
    return merged.loc[kept].reset_index(drop=True), complete, int((complete & ~kept).sum())


def train_model(features: pd.DataFrame, labels: pd.DataFrame, *,
                members: pd.DataFrame | None, governance: GovernanceSettings,
                governance_text: str, config: TrainingConfig,
                since: dt.date | None = None) -> TrainingResult:
    """Fit, calibrate and evaluate on a feature table and its labels (see module doc).

    `since`: train, validate and test only on referrals dated from then (their features
    still read every earlier record), e.g. when outcomes were not recorded before it.
    """
    data, complete, before_since = _labelled(features, labels, since)
    if len(data) < MIN_TO_SPLIT:
        dated = "" if since is None else f" (dated from {since}: {before_since:,} earlier left out)"
        # --since left out the referrals that had one: an older extract would not bring them.
        more = ("an earlier --since keeps more" if since is not None and before_since else
                "an extract reaching further back gives more (--extract-date must stay the "
                "day the data were taken, or referrals still in follow-up would be trained "
                "on as negatives)")
        raise ValueError(
            f"{len(data):,} of {len(features):,} referrals have a complete "
            f"{LABEL_WINDOW_DAYS}-day follow-up at the extract date{dated}, too few to train on "
            f"(at least {MIN_TO_SPLIT}): {more}")
    split = temporal_group_split(data, members, validation_fraction=config.validation_fraction,
                                 test_fraction=config.test_fraction)
    candidates = model_feature_names(
        use_protected_characteristics=governance.use_protected_characteristics)
    tr, va, te = split.train, split.validation, split.test
    full = data[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
    X = full[:, [FEATURE_NAMES.index(name) for name in candidates]]
    varying = ~_constant_columns(X[tr])
    names = [name for name, keep in zip(candidates, varying, strict=True) if keep]
    X = X[:, varying]
    y = data["label"].to_numpy(dtype=np.int64)
    for name, rows in (("training", tr), ("validation", va), ("test", te)):
        if len(np.unique(y[rows])) < 2:
            raise ValueError(f"the {name} referrals have only one outcome class "
                             f"({len(rows):,} referrals): the extract needs outcomes "
                             "(the outcomes feed) on both sides to train and evaluate")
    # The classifier reads "no record" in a constrained days-since feature as a long gap.
    Xc = classifier_input(X, tuple(names))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="baseline") as beside:
        # The baseline fits beside the classifier: both spend their time in compiled code
        # that releases the GIL (NumPy and BLAS; OpenMP), and neither reads the other.
        # It reads every varying column; the classifier those it could split on.
        training = X[tr]
        baseline_fit = beside.submit(fit_baseline, training, y[tr], config=config)
        splits = _can_split(Xc[tr], config.min_samples_leaf)
        model_names = [name for name, keep in zip(names, splits, strict=True) if keep]
        Xc = Xc[:, splits]
        classifier = fit_classifier(Xc[tr], y[tr], Xc[va], y[va], feature_names=model_names,
                                    config=config)
        # The classifier's log-odds by the compiled walk of its trees (its decision_function
        # to the bit, in a fifth of the time): Xc already reads "no record" as it should.
        walk = ForestPredictor(classifier, np.zeros(len(model_names), dtype=np.bool_),
                               NO_RECORD_DAYS)
        every = np.arange(len(model_names))  # Xc's columns are the classifier's, in its order
        raw_val = walk.raw_scores(Xc[va], every)
        calibrator, calibration_scores = choose_calibrator(raw_val, y[va], seed=config.seed)
        edges = ventile_edges(calibrator.transform(walk.raw_scores(Xc[tr], every)))
        model = RiskModel(classifier, tuple(model_names), calibrator, edges, governance,
                          governance_text, tied_edges=TIED_EDGES_MIDDLE, metadata={
                              "calibration": calibrator.method,
                              "n_iter": int(classifier.n_iter_),
                              "explanation_reference": reference_values(
                                  model_names, training[:, splits],
                                  governance.explanation_reference)})
        ratings = model.rate(full[te])
        whole_period = model.rate(full[split.test_period]).probability
    baseline = baseline_fit.result()
    metrics = {f"test_{k}": v
               for k, v in classification_metrics(y[te], ratings.probability).items()}
    # The same on every referral of the test period, families seen earlier included (the
    # held-out set keeps new families only; the service scores both).
    metrics |= {f"{TEST_PERIOD_PREFIX}{k}": v for k, v in
                classification_metrics(y[split.test_period], whole_period).items()}
    baseline_p = baseline.predict_proba(X[te])[:, 1]
    metrics |= {f"baseline_{k}": v for k, v in classification_metrics(y[te], baseline_p).items()}
    metrics |= {f"validation_{k}": v for k, v in
                classification_metrics(y[va], calibrator.transform(raw_val)).items()}
    metrics |= calibration_scores | {"n_iter": float(classifier.n_iter_)}
    band_names = [band.name for band in governance.bands]
    tables = {
        "rates_by_score": rates_by(y[te], ratings.probability, ratings.score, range(1, 21)),
        "rates_by_band": rates_by(y[te], ratings.probability,
                                  np.asarray(band_names)[ratings.band], band_names),
    }
    counts = {"referrals": len(features), "follow_up_incomplete": int((~complete).sum()),
              "features_constant_in_training": len(candidates) - len(names),
              "features_too_rare_to_split": len(names) - len(model_names),
              "labelled": len(data), "positives": int(y.sum()), "before_since": before_since}
    arrays = {"y": y[te], "probability": ratings.probability, "score": ratings.score,
              "baseline_probability": baseline_p}
    return TrainingResult(model, baseline, split, metrics, tables,
                          data["referral_id"].iloc[te].astype(str).tolist(), arrays, counts,
                          outcome_gaps(data["referral_date"], y), since, tuple(names))


def training_plots(result: TrainingResult, out_dir: Path) -> list[Path]:
    """The calibration plot (model and baseline) and the score distribution, as PNG."""
    arrays = result.test_arrays
    out_dir.mkdir(parents=True, exist_ok=True)
    curves = {"gradient boosting (calibrated)": arrays["probability"],
              "logistic baseline": arrays["baseline_probability"]}
    return [
        calibration_plot(arrays["y"], curves, out_dir / "calibration.png"),
        score_distribution_plot(arrays["score"], arrays["y"], out_dir / "score_distribution.png"),
    ]


def trained_on(extract_date: dt.date) -> dict[str, str]:
    """When and on what extract date a model was trained, for its metadata."""
    return {"extract_date": extract_date.isoformat(),
            "trained_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}
