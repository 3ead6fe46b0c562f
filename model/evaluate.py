"""Metrics and plots: discrimination, calibration, and outcome rates per band and score."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score  # noqa: E402

ECE_BINS = 10


def expected_calibration_error(y: np.ndarray, probability: np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """Mean |observed rate - mean prediction| over equal-width probability bins, weighted."""
    which = np.minimum((np.asarray(probability) * bins).astype(int), bins - 1)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=y, minlength=bins)
    return float(np.abs(observed - predicted).sum() / max(len(y), 1))


def classification_metrics(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """ROC AUC, average precision, Brier score, ECE and the outcome rate."""
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, probability)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, probability)) if both
        else float("nan"),
        "brier": float(brier_score_loss(y, probability)),
        "ece": expected_calibration_error(y, probability),
        "outcome_rate": float(np.mean(y)),
        "mean_probability": float(np.mean(probability)),
        "n": float(len(y)),
    }


def rates_by(y: np.ndarray, probability: np.ndarray, groups: np.ndarray,
             labels: Sequence[object]) -> pd.DataFrame:
    """Referrals, outcome rate and mean probability per group value (every label listed)."""
    frame = pd.DataFrame({"group": groups, "y": y, "p": probability})
    summary = frame.groupby("group").agg(referrals=("y", "size"), outcome_rate=("y", "mean"),
                                         mean_probability=("p", "mean"))
    summary = summary.reindex(list(labels))
    summary["referrals"] = summary["referrals"].fillna(0).astype(int)
    return summary


def calibration_plot(y: np.ndarray, curves: dict[str, np.ndarray], path: Path) -> Path:
    """Observed outcome rate against predicted probability, per model, in deciles."""
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, probability in curves.items():
        order = np.argsort(probability)
        chunks = np.array_split(order, 10)
        ax.plot([probability[c].mean() for c in chunks], [y[c].mean() for c in chunks],
                marker="o", label=name)
    ax.set(xlabel="Predicted probability", ylabel="Observed outcome rate",
           title="Calibration on the test referrals (deciles)")
    ax.legend(loc="upper left")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def score_distribution_plot(scores: np.ndarray, y: np.ndarray, path: Path) -> Path:
    """Referrals per score 1..20 with the outcome rate of each score."""
    table = rates_by(y, y.astype(float), scores, range(1, 21))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(table.index, table["referrals"], color="#4477aa")
    ax.set(xlabel="Score (1 to 20)", ylabel="Test referrals", xticks=range(1, 21),
           title="Score distribution and outcome rate per score")
    rate_axis = ax.twinx()
    rate_axis.plot(table.index, table["outcome_rate"], color="#cc3311", marker="o")
    rate_axis.set_ylabel("Outcome rate", color="#cc3311")
    rate_axis.set_ylim(0, 1)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
