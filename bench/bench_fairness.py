"""Fairness audit speed: 30,000 labelled referrals, 200 bootstrap resamples (target < 60 s).

The referrals, their attributes and outcomes come from the synthetic generator (its
truth file's labels; the probability is the generator's true probability, banded by
its ventiles as a model's would be, so no model needs training). Prints:

- the audit (`model.fairness.audit_fairness`, every attribute and intersection, 200
  resamples) in wall and CPU seconds;
- the reference measured in the same run: fairlearn's `MetricFrame` over the same
  attribute sets without bootstrap (the point estimates alone), and the audit's
  ratio to it;
- fairlearn's own bootstrap (`MetricFrame(n_boot=...)`) on one attribute set for a few
  resamples, extrapolated to the audit's 200 resamples and nine attribute sets: what
  the vectorised bootstrap saves.

Run: .venv/bin/python bench/bench_fairness.py [--labelled N] [--resamples B] [--json PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from results import Figure, Target, add_json_argument, write_figures

from data_contracts import validate_extract
from model.fairness import audit_fairness
from model.fairness_groups import ATTRIBUTE_SETS, attribute_frame
from model.fairness_metrics import group_summary, point_estimates
from model.governance import load_governance
from pipelines.synth import SynthConfig, generate_extract

TARGET_S = 60.0
FAIRLEARN_BOOT_SAMPLE = 3


def labelled_frame(labelled: int, seed: int) -> pd.DataFrame:
    """`labelled` referrals with attributes, label, probability and band."""
    governance, _ = load_governance()
    with tempfile.TemporaryDirectory() as tmp:
        out, truth_path = Path(tmp) / "extract", Path(tmp) / "truth.parquet"
        generate_extract(SynthConfig(n_referrals=int(labelled * 1.35), seed=seed,
                                     file_format="parquet", corrupt=False), out,
                         truth_path=truth_path)
        referrals = validate_extract(out).feeds["referrals"]
        truth = pd.read_parquet(truth_path)
    frame = referrals.merge(truth, on="referral_id")
    frame = frame[frame["follow_up_complete"]].head(labelled).reset_index(drop=True)
    probability = frame["true_probability"].to_numpy(np.float64)
    edges = np.quantile(probability, np.linspace(0, 1, 21)[1:-1])
    score = np.searchsorted(edges, probability, side="right") + 1
    bands = np.array([band.name for band in governance.bands])[governance.band_index(score)]
    return frame.assign(label=frame["label"].astype(int), probability=probability, band=bands)


def timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    """(result, wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def metricframe_reference(frame: pd.DataFrame, selected: np.ndarray) -> None:
    """fairlearn's MetricFrame over every attribute set, no bootstrap."""
    groups = attribute_frame(frame)
    y, p = frame["label"].to_numpy(np.float64), frame["probability"].to_numpy(np.float64)
    for attributes in ATTRIBUTE_SETS:
        point_estimates(y, p, selected, groups[list(attributes)])


def _one_metric(y: np.ndarray, selected_and_p: np.ndarray, *, index: int) -> float:
    return float(group_summary(y, selected_and_p)[index])


def fairlearn_bootstrap(frame: pd.DataFrame, selected: np.ndarray, n_boot: int) -> None:
    """fairlearn's own bootstrap, ethnicity by age band, one scalar metric per group."""
    from fairlearn.metrics import MetricFrame

    groups = attribute_frame(frame)[["ethnicity_group", "age_band"]]
    y, p = frame["label"].to_numpy(np.float64), frame["probability"].to_numpy(np.float64)
    names = ("observed", "predicted", "gap", "selection", "tpr", "fpr", "precision", "auc")
    metrics = {name: partial(_one_metric, index=i) for i, name in enumerate(names)}
    MetricFrame(metrics=metrics, y_true=y, y_pred=np.column_stack([selected, p]),
                sensitive_features=groups, n_boot=n_boot, ci_quantiles=[0.025, 0.975],
                random_state=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=int, default=30_000)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    add_json_argument(parser)
    args = parser.parse_args()
    governance, _ = load_governance()
    frame = labelled_frame(args.labelled, args.seed)
    selected = frame["band"].isin(governance.selected_bands()).to_numpy(np.float64)
    print(f"{len(frame):,} labelled referrals, outcome rate {frame['label'].mean():.3f}, "
          f"selected {selected.mean():.3f}")
    audit, wall, cpu = timed(audit_fairness, frame, governance, model_version="bench",
                             n_boot=args.resamples)
    print(f"audit: {len(audit.groups)} groups, {args.resamples} resamples: {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU (target < {TARGET_S:.0f} s) "
          f"{'OK' if wall < TARGET_S else 'MISSED'}")
    _, ref_wall, ref_cpu = timed(metricframe_reference, frame, selected)
    print(f"reference, MetricFrame without bootstrap over the same 9 attribute sets: "
          f"{ref_wall:.1f} s wall, {ref_cpu:.1f} s CPU; audit / reference: "
          f"{wall / ref_wall:.2f} wall, {cpu / ref_cpu:.2f} CPU")
    _, boot_wall, boot_cpu = timed(fairlearn_bootstrap, frame, selected, FAIRLEARN_BOOT_SAMPLE)
    per_resample = boot_cpu / (FAIRLEARN_BOOT_SAMPLE + 1)
    print(f"fairlearn's own bootstrap, ethnicity x age band, {FAIRLEARN_BOOT_SAMPLE} resamples: "
          f"{boot_wall:.1f} s wall, {boot_cpu:.1f} s CPU; extrapolated to {args.resamples} "
          f"resamples x {len(ATTRIBUTE_SETS)} attribute sets: about "
          f"{per_resample * (args.resamples + 1) * len(ATTRIBUTE_SETS) / 60:.0f} CPU minutes")
    fairlearn_cpu = per_resample * (args.resamples + 1) * len(ATTRIBUTE_SETS)
    write_figures(args.json, "bench_fairness", [
        Figure(f"fairness audit, {args.resamples} resamples", wall, "s",
               "fairlearn MetricFrame, same attribute sets, no bootstrap", ref_wall,
               target=Target("<", TARGET_S)),
        Figure(f"fairness audit, {args.resamples} resamples, CPU", cpu, "s CPU",
               "fairlearn's own bootstrap, extrapolated to as many resamples and sets",
               fairlearn_cpu)],
        {"labelled referrals": len(frame), "groups": len(audit.groups),
         "resamples": args.resamples})


if __name__ == "__main__":
    main()
