"""A TEST FIXTURE in the shape of the fairness audit's `fairness/fairness.json` (the
contract agreed with the fairness audit; the real report is written by its module)."""

from __future__ import annotations

from typing import Any


def fairness_group(attributes: dict[str, str], *, n: int = 400, ratio: float = 1.0,
                   gap: float = 0.0, flags: tuple[str, ...] = (),
                   reference: bool = False) -> dict[str, Any]:
    """One group of the report: rates of 0.2, its selection/FPR/TPR ratios all ``ratio``."""
    group: dict[str, Any] = {"attributes": attributes, "n": n, "is_reference": reference,
                             "flags": list(flags)}
    for metric, value in (("observed_rate", 0.2), ("mean_predicted", 0.2 + gap),
                          ("calibration_gap", gap), ("selection_rate", 0.3 * ratio),
                          ("false_positive_rate", 0.1 * ratio),
                          ("true_positive_rate", 0.6 * ratio), ("precision", 0.4),
                          ("roc_auc", 0.75)):
        group[metric] = value
        group[f"{metric}_ci"] = [value - 0.02, value + 0.02]
    for metric in ("selection_rate", "false_positive_rate", "true_positive_rate"):
        group[f"{metric}_ratio"] = ratio
    positives = round(0.2 * n)
    true_positives = round(0.6 * ratio * positives)
    false_positives = round(0.1 * ratio * (n - positives))
    group["counts"] = {"n": n, "positives": positives, "negatives": n - positives,
                       "selected": true_positives + false_positives,
                       "true_positives": true_positives, "false_positives": false_positives}
    return group


def fairness_report(groups: list[dict[str, Any]], *, version: str = "1") -> dict[str, Any]:
    """A whole report around the given groups."""
    flagged = [g for g in groups if set(g["flags"]) - {"too_small"}]
    return {"model_version": version, "generated_at": "2026-12-04T12:00:00+00:00",
            "n_labelled": sum(g["n"] for g in groups), "reference_rule": "largest group",
            "tolerance": {"disparity_lower": 0.8, "disparity_upper": 1.25, "calibration": 0.01,
                          "min_group_size": 100, "suppression_threshold": 10,
                          "interval_level": 0.95, "bootstrap_resamples": 200, "seed": 0,
                          "selected_bands": ["high", "very high"]},
            "attributes": ["sex", "ethnicity_group"],
            "groups": groups, "summary": {"flagged_groups": len(flagged), "flags": {}}}


def fair_report() -> dict[str, Any]:
    """A report in which nothing is flagged."""
    return fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=2000, reference=True),
        fairness_group({"ethnicity_group": "black"}, ratio=1.1, gap=0.01),
        fairness_group({"ethnicity_group": "mixed"}, n=8, ratio=3.0, flags=("too_small",)),
    ])
