"""The calibrator: the model's log-odds to a probability a practitioner is shown.

Two methods, fitted on the validation referrals (held out from the classifier's fit):

- sigmoid (Platt): two numbers, smooth and strictly increasing; the default.
- isotonic: any monotone shape, but a step function that overfits a small set. Fitted
  here as a *centred* isotonic regression (Oron and Flournoy, 2017): each step's rate is
  placed at the mean log-odds of its referrals and the map runs straight between them,
  so it is strictly increasing between the first step's centre and the last's, not flat
  over a step. Below the first centre and above the last it is level, as in the
  method's own implementation (the R package cir): the lower half of the first step and
  the upper half of the last share their step's probability, and no data tell a slope
  there (extrapolating the end segments' slopes was no more accurate in simulation).
  On a probe's extract plain isotonic steps put 31% of all referrals on one
  probability, hence one score (16, "high"): ventile edges tied across the step.

Neither method ever gives exactly 0 or 1 (a practitioner told "0%" is told something no
data can show), whatever its calibration set, even one with a single outcome class:
every isotonic step's rate is smoothed towards the calibration set's outcome rate by one
referral's weight (an m-estimate, as Zadrozny and Elkan 2001 smooth leaf frequencies),
so a step of m referrals with no outcome reads rate/(m+1), not 0; that set's rate is
itself taken as (k + 1/2)/(n + 1) (`_set_rate`), never 0 or 1; and both methods are
bounded by what the whole calibration set could tell (`_bounds`). Versions saved before
these bounds (no "bounds" in their document) rate as they always did, so their golden
sets still reproduce.

`choose_calibrator` takes isotonic only where it can be trusted (`MIN_ISOTONIC_*`) and
only when it beats sigmoid by more than the noise of the comparison.

Imported by the rating path: scikit-learn is imported only by `Calibrator.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

CalibrationMethod = Literal["isotonic", "sigmoid"]
# scikit-learn's guide advises against isotonic calibration with "too few calibration
# samples (<<1000) since it then tends to overfit". The 2-fold comparison fits each
# method on half the set, so the set needs twice that for each half to hold 1,000.
MIN_ISOTONIC_REFERRALS: Final = 2_000
# A step of an isotonic fit is set by where the outcomes fall, not by the referrals: at
# an outcome rate of 5%, 2,000 referrals hold 100 outcomes. Ask for 200 of the rarer
# class (100 in each half of the comparison), as events-per-parameter rules count events.
MIN_ISOTONIC_OUTCOMES: Final = 200
# Isotonic has many more degrees of freedom than sigmoid's two: it is taken only when its
# Brier score is lower by more than this many standard errors of the paired,
# per-referral difference (about a one-sided 97.5% test). On the probe's extract
# isotonic won by 0.0004 (0.0574 against 0.0578), well inside the noise.
NOISE_STANDARD_ERRORS: Final = 2.0


@dataclass(frozen=True)
class Calibrator:
    """Maps the model's log-odds to a calibrated probability (monotone, stored as numbers).

    `params`: sigmoid "a", "b" (p = 1 / (1 + exp(-(a raw + b)))); isotonic "x", "y" (the
    knots, interpolated and held level beyond the ends); both "bounds" (the lowest and
    highest probability given; absent from versions saved before it).
    """

    method: CalibrationMethod
    params: dict[str, list[float]]

    @classmethod
    def fit(cls, method: CalibrationMethod, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit an isotonic or sigmoid (Platt) calibrator on held-out log-odds and labels."""
        raw, y = np.asarray(raw, dtype=np.float64), np.asarray(y, dtype=np.float64)
        bounds = _bounds(y)
        if method == "isotonic":
            x, p = _centred_isotonic(raw, y)
            return cls(method, {"x": x.tolist(), "y": p.tolist(), "bounds": bounds})
        if np.unique(y).size < 2:
            # One outcome only (a half of a small set in `choose_calibrator`): Platt's fit
            # has no finite optimum (a level line at log-odds -inf or +inf), and
            # scikit-learn refuses it. Its limit, held to the bounds: the bound itself.
            level = bounds[1] if np.any(y) else bounds[0]
            return cls(method, {"a": [0.0], "b": [float(np.log(level / (1.0 - level)))],
                                "bounds": bounds})
        from sklearn.linear_model import LogisticRegression

        unpenalised = LogisticRegression(C=1e6)  # pragma: no mutate (any large C: the same fit)
        platt = unpenalised.fit(raw[:, np.newaxis], y)
        return cls(method, {"a": [float(platt.coef_[0, 0])], "b": [float(platt.intercept_[0])],
                            "bounds": bounds})

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for log-odds."""
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            probability = np.interp(raw, self.params["x"], self.params["y"])
        else:
            a, b = self.params["a"][0], self.params["b"][0]
            with np.errstate(over="ignore"):  # far below the data: exp overflows, p is 0
                probability = 1.0 / (1.0 + np.exp(-(a * raw + b)))
        if "bounds" in self.params:
            low, high = self.params["bounds"]
            probability = np.clip(probability, low, high)
        return probability


def _smoothed(outcomes: np.ndarray, referrals: np.ndarray, rate: float) -> np.ndarray:
    """Each group's outcome rate with one referral at the overall `rate` added: never 0
    or 1, and within 1/(n+1) of the plain rate for a group of n."""
    return (outcomes + rate) / (referrals + 1.0)


def _set_rate(y: np.ndarray) -> float:
    """The calibration set's outcome rate, k outcomes of n, by the Krichevsky-Trofimov
    rule (k + 1/2) / (n + 1), the mean under a Jeffreys prior: never 0 or 1, even for a
    set of one outcome, and within 1/(2(n + 1)) of k/n."""
    return (float(np.sum(y)) + 0.5) / (y.size + 1.0)


def _bounds(y: np.ndarray) -> list[float]:
    """The lowest and highest probability a calibration set of n referrals supports: the
    smoothed rate of a group of all n with no outcome, and of all n with one. No step of
    the set can claim less; sigmoid's extrapolation beyond the data is held to it."""
    rate = _set_rate(y)
    n = np.array([float(y.size)])
    return [float(_smoothed(np.zeros(1), n, rate)[0]), float(_smoothed(n, n, rate)[0])]


def _centred_isotonic(raw: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots of a centred isotonic regression with smoothed step rates.

    The isotonic (pool-adjacent-violators) steps; each step's rate smoothed (`_smoothed`),
    pooled again where smoothing broke the order; each step's knot at the mean log-odds of
    its referrals. Consecutive knots rise strictly in both coordinates.

    Pool-adjacent-violators over the referrals' distinct log-odds in order (scipy's), the
    fitted values read off its blocks: scikit-learn's `IsotonicRegression.predict`
    interpolates between its thresholds, and two log-odds 1e-109 apart (a property test's)
    made a slope of infinity and a knot of NaN.
    """
    from scipy.optimize import isotonic_regression

    # Tied log-odds are one point of the fit, their outcomes averaged (as scikit-learn's).
    _, tie = np.unique(raw, return_inverse=True)
    counts = np.bincount(tie).astype(np.float64)
    fitted = isotonic_regression(np.bincount(tie, weights=y) / counts, weights=counts).x[tie]
    # The fit is monotone in raw, so a step's referrals share one fitted value.
    _, step = np.unique(fitted, return_inverse=True)
    referrals = np.bincount(step).astype(np.float64)
    outcomes = np.bincount(step, weights=y)
    centres = np.bincount(step, weights=raw) / referrals
    rates = _smoothed(outcomes, referrals, _set_rate(y))
    # Steps are in the order of their log-odds (`np.unique` of a monotone fit).
    rates = isotonic_regression(rates, weights=referrals + 1.0).x
    # Steps the second pooling joined become one knot, at their referrals' mean log-odds.
    _, joined = np.unique(rates, return_inverse=True)
    weights = np.bincount(joined, weights=referrals)
    x = np.bincount(joined, weights=centres * referrals) / weights
    p = np.bincount(joined, weights=rates * referrals) / weights
    return x, p


def isotonic_can_be_trusted(y: np.ndarray) -> bool:
    """Whether a calibration set is large enough for isotonic calibration at all."""
    outcomes = int(np.sum(y))
    return y.size >= MIN_ISOTONIC_REFERRALS and min(outcomes,
                                                    y.size - outcomes) >= MIN_ISOTONIC_OUTCOMES


def choose_calibrator(raw: np.ndarray, y: np.ndarray, *, seed: int
                      ) -> tuple[Calibrator, dict[str, float]]:
    """Sigmoid, or isotonic where the set can be trusted with it (`isotonic_can_be_trusted`)
    and its Brier score in 2-fold validation is lower by more than the noise.

    Returns the calibrator fitted on the whole set and the comparison's figures: each
    method's Brier score, isotonic's gain (sigmoid's score minus isotonic's) and the
    gain's standard error.
    """
    halves = np.array_split(np.random.default_rng(seed).permutation(len(y)), 2)
    methods: tuple[CalibrationMethod, ...] = ("isotonic", "sigmoid")
    losses = {}
    for method in methods:
        held_out = np.empty(len(y))
        for fit_part, check_part in (halves, halves[::-1]):
            fitted = Calibrator.fit(method, raw[fit_part], y[fit_part])
            held_out[check_part] = fitted.transform(raw[check_part])
        losses[method] = (held_out - y) ** 2
    # Paired by referral: each referral's loss under both methods, so the noise is that of
    # the difference, not of each score.
    gain = losses["sigmoid"] - losses["isotonic"]
    error = float(gain.std(ddof=1) / np.sqrt(gain.size)) if gain.size > 1 else np.inf
    figures = {f"calibration_brier_{m}": float(losses[m].mean()) for m in methods} | {
        "calibration_isotonic_gain": float(gain.mean()),
        "calibration_isotonic_gain_se": error}
    isotonic = (isotonic_can_be_trusted(y)
                and float(gain.mean()) > NOISE_STANDARD_ERRORS * error)
    return Calibrator.fit("isotonic" if isotonic else "sigmoid", raw, y), figures
