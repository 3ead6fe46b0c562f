"""Explanation speed: one case in-process, and a 100,000-row batch on two cores against bare SHAP.

Builds a realistic training matrix through the real pipeline (synthetic extract ->
validation -> features -> labels from the truth file), trains a gradient-boosted model
like the production one, then prints: the median time to explain one case (target
< 5 ms), the batch `explain_columns` time for every referral on two threads, its factor
texts rendered anew as in a new process (target < 90 s), and, for the same rows and
chunks in two worker processes started beforehand, two bare ``TreeExplainer.shap_values``
times: interventional against the same one-row reference (the floor: the target ratio
is <= 1.25 of it; the explainer computes the same values with its own exact kernel,
`model/explain_kernel.py`) and path-dependent against the average referral (what
explanations ran before issue 22). Ratios are also given
in CPU seconds, which other load on a shared machine does not distort. When a target is
missed it retries with a smaller model and prints the AUC that costs.

Run: .venv/bin/python bench/bench_explain.py [--referrals N] [--cache DIR] [--no-retry]
[--model DIR] [--json PATH] (figures of the first model only; `--model`: the model and
extract of bench/shared_model.py instead of training one)
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import shap
from joblib import Parallel, delayed
from results import Figure, Target, add_json_argument, write_figures
from shared_model import ALIAS, add_model_argument, model_registry
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from data_contracts import validate_extract
from model.explain import CaseExplainer
from model.explain_batch import CHUNK_ROWS  # the bare figure uses these chunks
from model.factors import forget_texts
from model.model_matrix import classifier_input
from model.reference import reference_values
from model.risk_model import one_openmp_thread
from pipelines.features import build_features
from pipelines.manifest import FEATURE_NAMES, SPECS_BY_NAME, model_feature_names
from pipelines.manifest_lookup import columns_of
from pipelines.synth import SynthConfig, generate_extract

TARGET_CASE_MS = 5.0
TARGET_BATCH_S = 90.0
TARGET_RATIO = 1.25


def build_matrix(referrals: int, seed: int, shared: Path | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model features, labels (-1 where follow-up is incomplete) and referral days (of
    the extract of the model folder `shared` when given)."""
    with tempfile.TemporaryDirectory() as tmp:
        out, truth_path = Path(tmp) / "extract", Path(tmp) / "truth.parquet"
        if shared is not None:
            out, truth_path = shared / "extract", shared / "truth.parquet"
        else:
            generate_extract(SynthConfig(n_referrals=referrals, seed=seed,
                                         file_format="parquet", corrupt=False), out,
                             truth_path=truth_path)
        frames = dict(validate_extract(out).feeds)
        truth = pq.read_table(truth_path).to_pandas()
    table = build_features(frames).merge(truth[["referral_id", "label"]], on="referral_id",
                                         how="left")
    X = table[list(FEATURE_NAMES)].to_numpy(np.float32)  # the table `safeguard score` explains
    y = table["label"].astype("Float64").fillna(-1).to_numpy(np.float64)
    days = table["referral_date"].to_numpy("datetime64[D]").astype(np.int64)
    return X, y, days


def load_matrix(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The matrix from `--cache` when it holds one, else built (and cached when asked)."""
    cache = args.cache / f"explain_{args.referrals}_{args.seed}.npz" if args.cache else None
    if cache and cache.exists():
        saved = np.load(cache)
        return saved["X"], saved["y"], saved["days"]
    started = time.perf_counter()
    X, y, days = build_matrix(args.referrals, args.seed, args.model)
    print(f"pipeline: {len(X):,} referrals x {X.shape[1]} features "
          f"in {time.perf_counter() - started:.1f} s")
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, X=X, y=y, days=days)
    return X, y, days


def train(X: np.ndarray, y: np.ndarray, days: np.ndarray, *, max_iter: int,
          max_leaf_nodes: int) -> tuple[HistGradientBoostingClassifier, float]:
    """Fit on the earlier 80% of labelled referrals; AUC on the later 20%."""
    labelled = np.flatnonzero(y >= 0)
    labelled = labelled[np.argsort(days[labelled], kind="stable")]
    cut = int(0.8 * len(labelled))
    fit_rows, test_rows = labelled[:cut], labelled[cut:]
    names = model_feature_names()
    X = classifier_input(X[:, columns_of(FEATURE_NAMES, names)], tuple(names))
    classifier = HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=max_iter, max_leaf_nodes=max_leaf_nodes,
        early_stopping=True, validation_fraction=0.1, n_iter_no_change=20, random_state=0,
        monotonic_cst=[SPECS_BY_NAME[n].monotonic_constraint for n in names],
    ).fit(X[fit_rows], y[fit_rows])
    auc = roc_auc_score(y[test_rows], classifier.decision_function(X[test_rows]))
    return classifier, float(auc)


def _bare_chunk(tree: shap.TreeExplainer, X: np.ndarray) -> float:
    """Bare SHAP on one chunk; returns the worker's CPU seconds."""
    started = time.process_time()
    tree.shap_values(X, check_additivity=False)
    return time.process_time() - started


@dataclass
class BatchTimes:
    """Wall seconds (best of the repeats) and CPU seconds of the workers plus the parent."""

    start_up: float = 0.0
    bare_wall: float = math.inf  # path-dependent, against the average referral
    explain_wall: float = math.inf
    bare_cpu: float = math.inf
    explain_cpu: float = math.inf
    reference_wall: float = math.inf  # interventional, against the one-row reference
    reference_cpu: float = math.inf


def time_case(explainer: CaseExplainer, X: np.ndarray, calls: int) -> float:
    """Median milliseconds to explain one case, over `calls` different cases."""
    for i in range(20):
        explainer.explain(X[i:i + 1])
    times = []
    for i in range(calls):
        started = time.perf_counter()
        explainer.explain(X[i:i + 1])
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def time_batch(explainer: CaseExplainer, X: np.ndarray, n_jobs: int, repeats: int
               ) -> BatchTimes:
    """Bare SHAP on the same rows and chunks in two worker processes (started, with shap
    imported, before any figure), and `explain_columns` on two threads."""
    tree = shap.TreeExplainer(explainer.classifier)
    against = shap.TreeExplainer(explainer.classifier, data=explainer.shap.reference,
                                 feature_perturbation="interventional", model_output="raw")
    rows = np.ascontiguousarray(X, dtype=np.float32)  # the feature matrix `safeguard score` rates
    chunks = [rows[s:s + CHUNK_ROWS] for s in range(0, len(rows), CHUNK_ROWS)]
    inputs = [explainer.layout.model_input(chunk) for chunk in chunks]
    pool = Parallel(n_jobs=n_jobs, backend="loky")
    times = BatchTimes()
    # Start the bare explainer's worker processes first (they import shap), and load the
    # explainer's compiled code here (it explains on threads), so no figure pays for it.
    started = time.perf_counter()
    pool(delayed(_bare_chunk)(tree, rows[:10]) for _ in range(n_jobs))
    explainer.explain_columns(rows[:10], n_jobs=1)
    times.start_up = time.perf_counter() - started
    # The machine may be shared: alternate, keep each one's best run; CPU seconds too.
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        workers = sum(pool(delayed(_bare_chunk)(tree, chunk) for chunk in inputs))
        times.bare_wall = min(times.bare_wall, time.perf_counter() - wall)
        times.bare_cpu = min(times.bare_cpu, workers + time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        workers = sum(pool(delayed(_bare_chunk)(against, chunk) for chunk in inputs))
        times.reference_wall = min(times.reference_wall, time.perf_counter() - wall)
        times.reference_cpu = min(times.reference_cpu, workers + time.process_time() - cpu)
        forget_texts()  # as a new `safeguard score` process: every factor text rendered anew
        wall, cpu = time.perf_counter(), time.process_time()
        columns = explainer.explain_columns(rows, n_jobs=n_jobs)
        times.explain_wall = min(times.explain_wall, time.perf_counter() - wall)
        times.explain_cpu = min(times.explain_cpu, time.process_time() - cpu)  # its threads
        assert len(columns["top_factors"]) == len(rows)
    return times


def time_predict(explainer: CaseExplainer, X: np.ndarray, calls: int) -> float:
    """The reference of `time_case`: median ms of the bare classifier on one case."""
    rows = explainer.layout.model_input(X)
    with one_openmp_thread():
        for i in range(20):
            explainer.classifier.decision_function(rows[i:i + 1])
        times = []
        for i in range(calls):
            started = time.perf_counter()
            explainer.classifier.decision_function(rows[i:i + 1])
            times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def write_json(path: Path | None, case: tuple[float, float], times: BatchTimes, rows: int
               ) -> None:
    """The figures as JSON (`--json`): one case against the bare classifier, the batch
    against bare SHAP on the same rows, chunks and processes."""
    write_figures(path, "bench_explain", [
        Figure("explain one case", case[0], "ms", "bare classifier decision_function, one case",
               case[1], target=Target("<", TARGET_CASE_MS)),
        Figure(f"explain_columns, {rows:,} rows, 2 threads", times.explain_wall, "s",
               "bare interventional TreeExplainer against the same reference, same rows and "
               "processes", times.reference_wall, target=Target("<=", TARGET_RATIO, of="ratio")),
        Figure(f"explain_columns, {rows:,} rows, CPU", times.explain_cpu, "s CPU",
               "bare interventional TreeExplainer against the same reference, CPU",
               times.reference_cpu)], {"rows": rows})


def shared_classifier(folder: Path
                      ) -> tuple[HistGradientBoostingClassifier, float, list[str]]:
    """The classifier of bench/shared_model.py's model, its test AUC and its columns (of
    `model_feature_names`, in their order)."""
    loaded = model_registry(folder).load(ALIAS)
    return (loaded.model.classifier, loaded.info.metrics["test_roc_auc"],
            list(loaded.model.feature_names))


def run(X: np.ndarray, y: np.ndarray, days: np.ndarray, args: argparse.Namespace, *,
        max_iter: int, max_leaf_nodes: int, json_path: Path | None = None,
        shared: Path | None = None) -> tuple[bool, float]:
    """Train one model size (or take the model of `shared`), print its figures; whether it
    met every target, and its AUC."""
    started = time.perf_counter()
    names = model_feature_names()
    if shared is not None:
        classifier, auc, names = shared_classifier(shared)
    else:
        classifier, auc = train(X, y, days, max_iter=max_iter, max_leaf_nodes=max_leaf_nodes)
    print(f"\nmodel: max_iter={max_iter} (early stopping kept {classifier.n_iter_}), "
          f"max_leaf_nodes={max_leaf_nodes}; test AUC {auc:.4f}; "
          f"trained in {time.perf_counter() - started:.1f} s")
    labelled = np.flatnonzero(y >= 0)
    # As the service explains: the whole feature table (records-held flags for "not seen"),
    # the classifier's columns named apart.
    explainer = CaseExplainer(classifier, FEATURE_NAMES, model_features=names, reference=(
        reference_values(names, X[labelled][:, columns_of(FEATURE_NAMES, names)])))
    case_ms = time_case(explainer, X, args.cases)
    print(f"  one case, in-process:          {case_ms:8.2f} ms median of {args.cases}"
          f"  (target < {TARGET_CASE_MS} ms)")
    batch = X[:args.batch_rows]
    times = time_batch(explainer, batch, args.n_jobs, args.repeats)
    # The floor: bare shap against the same one-row reference (issue 22: within 1.25x).
    ratio = times.explain_wall / times.reference_wall
    print(f"  worker start-up (once a process): {times.start_up:6.1f} s")
    print(f"  explain_columns, {len(batch):,} rows: {times.explain_wall:8.1f} s on "
          f"{args.n_jobs} threads, best of {args.repeats}  (target < {TARGET_BATCH_S:.0f} s)")
    print(f"  bare TreeExplainer.shap_values: {times.bare_wall:8.1f} s path-dependent (the "
          f"explanations before issue 22), {times.reference_wall:.1f} s interventional against "
          "the one-row reference; same rows and chunks, on as many processes")
    print(f"  ratio explain / bare SHAP against the same reference: {ratio:8.2f}  "
          f"(target <= {TARGET_RATIO})")
    print(f"  ratio explain / bare path-dependent SHAP: "
          f"{times.explain_wall / times.bare_wall:8.2f}")
    print(f"  CPU seconds, explain / bare path-dependent: {times.explain_cpu:.1f} / "
          f"{times.bare_cpu:.1f} = {times.explain_cpu / times.bare_cpu:.2f}; explain / bare "
          f"against the reference: {times.explain_cpu / times.reference_cpu:.2f}  (workers + "
          "parent; not slowed by other load)")
    print(f"  load average (1 min) after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    met = (case_ms < TARGET_CASE_MS and times.explain_wall < TARGET_BATCH_S
           and ratio <= TARGET_RATIO)
    write_json(json_path, (case_ms, time_predict(explainer, X, args.cases)), times, len(batch))
    return met, auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--max-leaf-nodes", type=int, default=31)
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder to keep the feature matrix in between runs")
    parser.add_argument("--no-retry", action="store_true",
                        help="no smaller model when a target is missed")
    add_model_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args()
    X, y, days = load_matrix(args)
    met, auc = run(X, y, days, args, max_iter=args.max_iter,
                   max_leaf_nodes=args.max_leaf_nodes, json_path=args.json, shared=args.model)
    if not met and not args.no_retry:
        print("\na target was missed: trying a smaller model")
        _met, small_auc = run(X, y, days, args, max_iter=args.max_iter // 2,
                              max_leaf_nodes=max(args.max_leaf_nodes // 2, 4))
        print(f"  AUC cost of the smaller model: {auc - small_auc:+.4f}")


if __name__ == "__main__":
    main()
