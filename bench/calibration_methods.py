"""Calibration methods against the true probability, by size of the calibration set.

For each size, fits on SEEDS simulated calibration sets (log-odds ~ N(-2, 0.8), about a
12% outcome rate) plain isotonic regression (scikit-learn's, as versions before
`model.calibration` used it), the centred, smoothed isotonic of `model.calibration`, and
sigmoid; prints each method's mean squared error against the true probability on 50,000
fresh referrals (x 1e-4), how often `choose_calibrator` takes isotonic, and how many
referrals plain isotonic put at exactly 0. Two truths: a sigmoid of the log-odds, and a
shape no sigmoid follows.

Run: .venv/bin/python bench/calibration_methods.py [--seeds N]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from sklearn.isotonic import IsotonicRegression

from model.calibration import Calibrator, choose_calibrator

SIZES = (500, 1_000, 2_000, 5_000, 20_000)
TRUTHS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda raw: 1 / (1 + np.exp(-(0.9 * raw - 0.2))),
    "not a sigmoid": lambda raw: np.clip(0.02 + 0.12 * np.maximum(raw + 3, 0) ** 1.5, 0, 0.95),
}


def _draw(n: int, seed: int, truth: Callable[[np.ndarray], np.ndarray]
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = rng.normal(-2.0, 0.8, size=n)
    p = truth(raw)
    return raw, (rng.uniform(size=n) < p).astype(np.int64), p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    print(f"{'truth':<14} {'n':>6} {'plain iso':>10} {'centred iso':>12} {'sigmoid':>8} "
          f"{'iso chosen':>10} {'plain iso at 0':>15}")
    for name, truth in TRUTHS.items():
        for n in SIZES:
            errors: dict[str, list[float]] = {"plain": [], "centred": [], "sigmoid": []}
            chosen, zeros = 0, 0
            for seed in range(args.seeds):
                raw, y, _ = _draw(n, seed, truth)
                fresh, _, p_true = _draw(50_000, 1_000 + seed, truth)
                plain = IsotonicRegression(out_of_bounds="clip").fit(raw, y)
                fits = {"plain": plain.predict(fresh),
                        "centred": Calibrator.fit("isotonic", raw, y).transform(fresh),
                        "sigmoid": Calibrator.fit("sigmoid", raw, y).transform(fresh)}
                for method, p in fits.items():
                    errors[method].append(float(np.mean((p - p_true) ** 2)))
                chosen += choose_calibrator(raw, y, seed=0)[0].method == "isotonic"
                zeros += int((fits["plain"] == 0).sum())
            print(f"{name:<14} {n:>6} {np.mean(errors['plain']) * 1e4:>10.2f} "
                  f"{np.mean(errors['centred']) * 1e4:>12.2f} "
                  f"{np.mean(errors['sigmoid']) * 1e4:>8.2f} {chosen:>7}/{args.seeds} "
                  f"{zeros / args.seeds / 50_000:>14.2%}")


if __name__ == "__main__":
    main()
