"""Training and scoring: quality against the generator's truth, and speed.

Generates two synthetic extracts with different seeds: the model is trained on the
first (validate -> features -> labels -> split -> fit -> calibrate -> baseline ->
evaluation -> plots -> registration in a temporary MLflow store) and scores the
second, which it never saw. Prints, on the unseen extract's referrals with complete
follow-up: the model's ROC AUC beside the AUC of the generator's true probabilities
(target ratio >= 0.97), its expected calibration error (target < 0.03) and the
logistic baseline's AUC (the model must beat it); then the training time (target
< 60 s for 100,000 referrals) and the time to score the unseen extract without
explanations (target < 15 s).

Run: .venv/bin/python bench/bench_train.py [--referrals N] [--json PATH]
"""

from __future__ import annotations

# First, as in the command: the OpenMP wait policy is read when scikit-learn loads it.
import model.openmp  # noqa: F401

# isort: split
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from results import Figure, Target, add_json_argument, write_figures
from sklearn.metrics import roc_auc_score

from model.data import prepare_extract
from model.evaluate import expected_calibration_error
from model.registry import ModelRegistry
from model.train import TrainingConfig
from model.workflow import score_extract, train_and_register
from pipelines.synth import SynthConfig, generate_extract

TRAIN_SEED, UNSEEN_SEED = 101, 202


def _extract(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    out, truth = folder / f"extract_{seed}", folder / f"truth_{seed}.parquet"
    generate_extract(SynthConfig(n_referrals=n, seed=seed, file_format="parquet"), out_dir=out,
                     truth_path=truth)
    return out, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    add_json_argument(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train_dir, _ = _extract(folder, args.referrals, TRAIN_SEED)
        unseen_dir, unseen_truth = _extract(folder, args.referrals, UNSEEN_SEED)
        registry = ModelRegistry(f"sqlite:///{folder / 'mlflow.db'}", model_name="bench",
                                 artifact_root=str(folder / "artifacts"))
        registry.connect()  # create the store's tables outside the timed run
        started = time.perf_counter()
        outcome = train_and_register(train_dir, registry=registry, experiment="bench",
                                     config=TrainingConfig())
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        scored = score_extract(unseen_dir, folder / "scores.parquet", registry=registry,
                               reference=outcome.version.version, explain=False).table
        score_seconds = time.perf_counter() - started
        prepared = prepare_extract(unseen_dir)
        assert prepared.labels is not None
        truth = pd.read_parquet(unseen_truth)
        assert scored is not None
        table = (scored.merge(prepared.labels, on="referral_id")
                 .merge(truth[["referral_id", "true_probability"]], on="referral_id"))
        table = table[table["follow_up_complete"]]
        features = prepared.features.set_index("referral_id").loc[table["referral_id"]]
        names = list(outcome.result.baseline_features)
        baseline_p = outcome.result.baseline.predict_proba(
            features[names].to_numpy(dtype=np.float32))[:, 1]
        y = table["label"].to_numpy(dtype=int)
        model_auc = roc_auc_score(y, table["probability"])
        truth_auc = roc_auc_score(y, table["true_probability"])
    print(f"referrals per extract        {args.referrals:,}")
    print(f"unseen referrals evaluated   {len(table):,} (complete follow-up)")
    print(f"model ROC AUC (unseen)       {model_auc:.4f}")
    print(f"truth ROC AUC (unseen)       {truth_auc:.4f}")
    print(f"ratio model / truth          {model_auc / truth_auc:.4f}   (target >= 0.97)")
    print(f"model ECE (unseen)           {expected_calibration_error(y, table['probability'].to_numpy()):.4f}   (target < 0.03)")  # noqa: E501
    print(f"baseline ROC AUC (unseen)    {roc_auc_score(y, baseline_p):.4f}   (model must beat)")
    print(f"internal test AUC / ECE      {outcome.result.metrics['test_roc_auc']:.4f} / "
          f"{outcome.result.metrics['test_ece']:.4f}")
    print(f"calibration / iterations     {outcome.result.model.calibrator.method} / "
          f"{outcome.result.model.metadata['n_iter']}")
    print(f"train + register             {train_seconds:.1f} s   (target < 60 s) "
          + ", ".join(f"{k} {v:.1f} s" for k, v in outcome.seconds.items()))
    print(f"score unseen extract         {score_seconds:.1f} s   (target < 15 s, no explanations)")
    truth_p = table["true_probability"].to_numpy()
    write_figures(args.json, "bench_train", [
        Figure("train + register", train_seconds, "s", "of which the classifier's fit",
               outcome.seconds["fit"], target=Target("<", 30.0)),
        Figure("model ROC AUC, unseen extract", model_auc, "", "the true probabilities' AUC",
               truth_auc, target=Target(">=", 0.97, of="ratio")),
        Figure("model ROC AUC against the logistic baseline", model_auc, "",
               "logistic baseline's AUC", roc_auc_score(y, baseline_p),
               target=Target(">", 1.0, of="ratio")),
        Figure("model ECE, unseen extract", expected_calibration_error(
            y, table["probability"].to_numpy()), "", "the true probabilities' ECE",
               expected_calibration_error(y, truth_p), target=Target("<", 0.03))],
        {"referrals": args.referrals, "unseen evaluated": len(table),
         "iterations": outcome.result.model.metadata["n_iter"],
         "score unseen, no explanations (s)": round(score_seconds, 1)})


if __name__ == "__main__":
    main()
