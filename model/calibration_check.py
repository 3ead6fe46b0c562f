"""Calibration-in-the-large of matured referrals: did as many outcomes follow as predicted?

The observed outcome rate against the mean predicted probability, as an observed/expected
(O/E) ratio with a 95% interval, overall and by band. ECE alone is weak here: at base
rates near 10% a probe's model predicting 8.3% where 12.4% was observed (a third too low) had
an ECE of 0.040, within `ece_rise_max` of its 0.014 at training.

The interval is exact (Clopper-Pearson) for the observed rate, divided by the mean
predicted probability: the predictions are the model's own numbers for these referrals,
so the uncertainty is in the outcomes. For independent referrals it is conservative (at
least 95% coverage), which suits a check that fails the command only when the whole
interval lies outside the tolerance `[calibration_ratio_lower, calibration_ratio_upper]`
of `[monitoring]`. A
family's referrals (`model.families`) often share their outcomes, so the interval is
taken on the effective number of referrals, their number over the design effect
(`model.families.design_effect`; Korn and Graubard's exact interval for clustered
samples, with their degrees-of-freedom factor): siblings referred together with one
outcome count as fewer than two. With few families its coverage falls below 95% (0.91 at
30 families sharing outcomes, simulated), as any interval on an estimated design effect's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import numpy as np
from scipy.stats import beta, binomtest, t

from model.families import design_effect
from model.governance import MonitoringSettings
from model.monitoring import Check

INTERVAL_METHOD: Final = ("exact (Clopper-Pearson) 95% interval of the observed rate, on the "
                          "effective number of referrals when families' outcomes go together "
                          "(Korn and Graubard)")
KIND: Final = "calibration"
# The subject of the overall check, and the prefix of each band's ("observed_expected/band=high").
OBSERVED_EXPECTED: Final = "observed_expected"
# Ends every message of an estimate to watch (the command prints them as "to watch:").
WATCH_NEXT: Final = "watch the next run"
# Ends the message of an estimate outside the tolerance whose interval reaches inside it.
WATCH: Final = f"outside the tolerance, but its interval reaches inside it: {WATCH_NEXT}"
# The verdict, and the end of the message, of an estimate outside the tolerance whose
# interval includes 1 (as predicted): "within tolerance" said what was not shown.
UNDETERMINED: Final = "more referrals needed"
UNDETERMINED_NOTE: Final = ("outside the tolerance, but its interval includes 1 (as many as "
                            "predicted): more matured referrals are needed to tell")


def effective_number(n: int, effect: float = 1.0, families: int | None = None) -> float | None:
    """The effective number of `n` referrals for the interval (`exact_interval`): n over
    the design effect, times the degrees-of-freedom factor of `families` (at the 95%
    level); None for one family of several referrals."""
    if families is not None and families < 2 <= n:
        return None
    m = n / effect
    if families is not None and families < n:
        m *= (t.ppf(0.975, n - 1) / t.ppf(0.975, families - 1)) ** 2
    return m


def exact_interval(k: int, n: int, effect: float = 1.0,
                   families: int | None = None) -> tuple[float, float]:
    """The Clopper-Pearson 95% interval of k of n referrals; with a design effect above 1,
    or fewer `families` than referrals, Korn and Graubard's (1998): the same on the
    effective number of referrals, n / effect, times their degrees-of-freedom factor
    (t of n - 1 over t of families - 1, squared: few families widen it), k in proportion.
    One family of several referrals says nothing of the variation between families: the
    interval is then all of [0, 1]."""
    m = effective_number(n, effect, families)
    if m is None:
        return 0.0, 1.0
    if m == n:
        found = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        return float(found.low), float(found.high)
    x = k * m / n
    return (float(beta.ppf(0.025, x, m - x + 1)) if k else 0.0,
            float(beta.ppf(0.975, x + 1, m - x)) if k < n else 1.0)


def observed_expected(y: np.ndarray, probability: np.ndarray,
                      families: np.ndarray | None = None) -> dict[str, Any]:
    """Observed outcome rate, mean predicted probability and their ratio, with its
    interval (None where no referral, or nothing was predicted); with `families` (a code
    per referral, `model.families.family_groups`), a family's referrals are not counted
    as independent (`exact_interval`)."""
    n, k = len(y), int(np.sum(y))
    expected = float(np.mean(probability)) if n else None
    entry: dict[str, Any] = {"n": n, "outcomes": k, "observed_rate": k / n if n else None,
                             "mean_predicted": expected, "ratio": None, "interval": None}
    if n and expected:
        effect = design_effect(y, families)
        counted = None if families is None else len(np.unique(families))
        low, high = exact_interval(k, n, effect, counted)
        entry["ratio"] = k / n / expected
        entry["interval"] = [low / expected, high / expected]
        entry["effective_referrals"] = effective_number(n, effect, counted)
    return entry


def tolerance_p_value(entry: dict[str, Any], settings: MonitoringSettings, *,
                      bounds: tuple[float, float] | None = None) -> float | None:
    """The two-sided p-value of an O/E entry against the tolerance (or other `bounds`:
    (1, 1) tests as many outcomes as predicted, `verdict`'s "watch"), the dual of its
    interval: below 0.05 exactly when the 95% interval lies wholly outside the tolerance
    (`verdict`'s "outside tolerance"), so a correction for many comparisons can judge it
    at a stricter level (None where the entry has no interval).

    Twice the one-sided p-value at the tolerance's nearer end: the exact binomial tail on
    the effective number of referrals, as a beta probability (the Clopper-Pearson duality;
    for a fractional number, the interval's own beta). With fewer families than
    referrals, the degrees-of-freedom factor is the 95% interval's at every level."""
    if entry["interval"] is None:
        return None
    m, k, n = entry.get("effective_referrals"), entry["outcomes"], entry["n"]
    if m is None:  # one family of several referrals: an interval of all of [0, 1]
        return 1.0
    x, expected = k * m / n, entry["mean_predicted"]
    lower, upper = bounds or (settings.calibration_ratio_lower, settings.calibration_ratio_upper)
    above = float(beta.cdf(upper * expected, x, m - x + 1)) if k else 1.0
    below = float(beta.sf(lower * expected, x + 1, m - x)) if k < n else 1.0
    return min(1.0, 2 * min(above, below))


def calibration_figures(y: np.ndarray, probability: np.ndarray, band: Sequence[str],
                        band_names: Sequence[str], families: np.ndarray | None = None
                        ) -> dict[str, Any]:
    """O/E of all the referrals and of each band's, and how the interval was taken."""
    labels = np.asarray(band)
    return {"overall": observed_expected(y, probability, families),
            "by_band": {name: observed_expected(
                y[labels == name], probability[labels == name],
                None if families is None else families[labels == name])
                for name in band_names},
            "interval_method": INTERVAL_METHOD}


def _how_far(ratio: float) -> str:
    """The ratio in words a board reads at once, against what was observed: 8.3% predicted
    where 12.4% was observed "under-predicts by about a third"; none observed (a ratio
    of 0, a band's 0 of 300 against 1%) says so rather than dividing by it."""
    if ratio == 0:
        return "no outcome was observed where some were predicted"
    share = abs(1 / ratio - 1)
    if share < 0.05:
        return "right on average (within 5%)"
    if ratio >= 2:
        return f"{ratio:.1f} times as many outcomes were observed as predicted"
    if ratio <= 2 / 3:
        return f"it predicted {1 / ratio:.1f} times as many outcomes as were observed"
    verb = "under-predicts" if ratio > 1 else "over-predicts"
    for fraction, words in ((1 / 2, "a half"), (1 / 3, "a third"), (1 / 4, "a quarter"),
                            (1 / 5, "a fifth")):
        if abs(share - fraction) <= 0.03:
            return f"it {verb} by about {words}"
    return f"it {verb} by about {share:.0%}"


def verdict(entry: dict[str, Any], settings: MonitoringSettings) -> str:
    """How an O/E entry is judged: "too few to judge"; "outside tolerance" (its interval
    wholly outside it: crossed); "watch" (the estimate outside, its interval excluding 1
    but reaching back inside the tolerance: not crossed); "more referrals needed" (the
    estimate outside, its interval including 1); or "within tolerance". Enough
    referrals all predicted at exactly 0 (an isotonic calibrator's lowest step) have no
    ratio: outside tolerance when any outcome followed, else within it."""
    if entry["n"] < settings.min_matured_referrals or entry["mean_predicted"] is None:
        return "too few to judge"
    if entry["interval"] is None:
        return "outside tolerance" if entry["outcomes"] else "within tolerance"
    low, high = entry["interval"]
    lower, upper = settings.calibration_ratio_lower, settings.calibration_ratio_upper
    if high < lower or low > upper:
        return "outside tolerance"
    if not lower <= entry["ratio"] <= upper:
        return "watch" if high < 1 or low > 1 else UNDETERMINED
    return "within tolerance"


def judge_entry(entry: dict[str, Any], subject: str, where: str,
                settings: MonitoringSettings, kind: str = KIND) -> Check:
    """One O/E entry's verdict (written into it) and check, of `kind`."""
    entry["verdict"] = verdict(entry, settings)
    if entry["verdict"] == "too few to judge":
        return Check(kind, subject, False,
                     f"calibration ({where}) not assessed: {entry['n']:,} matured referrals, "
                     f"too few to judge (at least {settings.min_matured_referrals:,})", False)
    if entry["interval"] is None:  # nothing predicted
        return Check(kind, subject, entry["verdict"] == "outside tolerance",
                     f"calibration ({where}): the model predicted 0% and "
                     f"{entry['observed_rate']:.1%} was observed ({entry['outcomes']:,} of "
                     f"{entry['n']:,} matured referrals): "
                     + ("outcomes followed where none were predicted" if entry["outcomes"]
                        else "none predicted and none observed"))
    low, high = entry["interval"]
    watch = {"watch": f": {WATCH}", UNDETERMINED: f": {UNDETERMINED_NOTE}"}.get(
        entry["verdict"], "")
    return Check(kind, subject, entry["verdict"] == "outside tolerance",
                 f"calibration ({where}): the model predicted {entry['mean_predicted']:.1%} "
                 f"and {entry['observed_rate']:.1%} was observed ({entry['outcomes']:,} of "
                 f"{entry['n']:,} matured referrals): {_how_far(entry['ratio'])} "
                 f"(observed/expected {entry['ratio']:.2f}, 95% interval {low:.2f} to "
                 f"{high:.2f}; tolerance {settings.calibration_ratio_lower:g} to "
                 f"{settings.calibration_ratio_upper:g}){watch}")


def calibration_checks(figures: dict[str, Any], settings: MonitoringSettings) -> list[Check]:
    """Each O/E's check (overall, and each band with a matured referral), its verdict
    written into `figures`."""
    checks = [judge_entry(figures["overall"], OBSERVED_EXPECTED, "all bands", settings)]
    for name, entry in figures["by_band"].items():
        check = judge_entry(entry, f"{OBSERVED_EXPECTED}/band={name}", f"{name} band", settings)
        checks += [check] if entry["n"] else []
    return checks


def matured_calibration(section: dict[str, Any], *, y: np.ndarray, probability: np.ndarray,
                        band: Sequence[str], band_names: Sequence[str],
                        settings: MonitoringSettings,
                        families: np.ndarray | None = None) -> list[Check]:
    """O/E of the matured referrals, added to their section (`model.monitoring_outcomes.
    matured_outcomes`) as ``calibration``, and its checks: none judged where the section
    says outcomes cannot be (its note says why), shown but not judged on too few; with
    `families`, a family's referrals are not counted as independent."""
    if "now" not in section:
        return [Check(KIND, OBSERVED_EXPECTED, False, "calibration (observed/expected) "
                      f"not assessed: {section.get('note', 'no matured outcomes')}", False)]
    figures = section["calibration"] = calibration_figures(y, probability, band, band_names,
                                                           families)
    training = section.get("training") or {}
    return [_beside_training(check, training) for check in calibration_checks(figures, settings)]


def _beside_training(check: Check, training: dict[str, Any]) -> Check:
    """A check's message with the same ratio at training, on the test period's referrals
    (the reference's outcome figures), so a miss the model already had reads as such: a
    probe's high band "to watch" at 1.26 read as news, where it had been 1.18 at training."""
    band = check.subject.removeprefix(f"{OBSERVED_EXPECTED}/band=")
    then = training if band == check.subject else training.get("rates_by_band", {}).get(band, {})
    observed, expected = then.get("observed_rate", then.get("outcome_rate")), then.get(
        "mean_predicted")
    if observed is None or not expected or "; tolerance " not in check.message:
        return check
    return replace(check, message=check.message.replace(
        "; tolerance ", f"; at training {observed / expected:.2f}, on "
        f"{then.get('n', 0):,} test-period referrals; tolerance ", 1))
