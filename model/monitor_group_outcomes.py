"""Observed/expected by protected group, its verdicts corrected for the groups compared.

`model.calibration_check`'s O/E and verdict for each group of the fairness audit's
attributes (`model.monitor_groups.GROUP_ATTRIBUTES`), judged from `min_group_referrals`
matured referrals (a group is smaller than a band). Up to 22 groups are compared in a run
(the four attributes' values, each with "not recorded"), each with a 95% interval: alone,
a group whose interval lies outside the tolerance by chance came up in 46% of runs of 20
groups of pure noise (`tests/model/test_monitor_group_correction.py`; 2.3% after
correction). So the groups judged in a run are one family, corrected as the fairness
audit corrects its own (`model.fairness_multiplicity.adjusted`: Benjamini-Hochberg, at
`ALPHA`, 5%) on each group's p-value against the tolerance
(`calibration_check.tolerance_p_value`, the dual of its interval): a group is outside
tolerance only when its adjusted p-value is at most 5%.

"Watch" (printed "to watch:") is a verdict a board reads too, and alone it is as
uncorrected: a group's estimate outside the tolerance with its interval excluding 1 came
up by chance in 20 groups of pure noise as often. So it is corrected the same way, on
each group's p-value against 1 (as many outcomes as predicted; the dual of the interval
excluding 1), a second family of the same groups: a group whose estimate lies outside the
tolerance (or whose interval did, before correction) is "watch" only when its adjusted
p-value against 1 is at most 5%, else "more referrals needed". The groups overlap (a
referral is in one group of each attribute), so their tests are positively dependent,
under which Benjamini-Hochberg still bounds the false discovery rate.

Each group is judged beside the whole model, as the fairness audit judges its groups: its
expected outcomes are the model's predictions scaled by the observed/expected of all the
matured referrals (`SCALE_KEY`), so a model off for everyone is one finding, the overall
check's, and a group is named only for what sets it apart. Judged against the model's
own predictions, a probe's White subjects (observed/expected 0.78 where all referrals
read 0.87, the whole model over-predicting) were "to watch" and its Black subjects, whose
outcomes it had recorded at twice the rate (1.29), "more referrals needed". The entry
keeps the model's own mean prediction and ratio (`model_mean_predicted`, `model_ratio`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import numpy as np
import pandas as pd

from model.calibration_check import (
    UNDETERMINED,
    WATCH,
    WATCH_NEXT,
    judge_entry,
    observed_expected,
    tolerance_p_value,
)
from model.fairness_groups import group_phrase
from model.fairness_multiplicity import METHOD, adjusted, p_text
from model.governance import MonitoringSettings
from model.monitor_groups import group_masks
from model.monitoring import Check

CALIBRATION_KIND: Final = "calibration_group"
# The false discovery rate of the groups' O/E verdicts: the level of their 95% intervals.
ALPHA: Final = 0.05
# The matured outcomes section's record of the correction (absent before 7 December).
CORRECTION_KEY: Final = "calibration_by_group_correction"
# Ends the message of a group outside the tolerance whose difference from 1 did not stand
# the correction.
NOT_SHOWN: Final = "more matured referrals are needed to tell"
# The matured outcomes section's record of the whole model's observed/expected, by which
# each group's expected outcomes are scaled (absent before 7 December, when they were not).
SCALE_KEY: Final = "calibration_by_group_scale"


def _whole_model_scale(y: np.ndarray, probability: np.ndarray) -> float:
    """The observed/expected of all the matured referrals (1 when it cannot be formed)."""
    expected = float(np.sum(probability))
    observed = float(np.sum(y))
    return observed / expected if expected > 0 and observed > 0 else 1.0


def _beside_whole_model(entry: dict[str, Any], raw_mean: float, scale: float,
                        message: str, where: str) -> str:
    """A group's check message, saying that its expected outcomes are scaled by the whole
    model's observed/expected, with the model's own mean prediction."""
    entry["model_mean_predicted"] = raw_mean
    entry["model_ratio"] = (entry["observed_rate"] / raw_mean
                            if raw_mean and entry["observed_rate"] is not None else None)
    if entry["mean_predicted"] is None or scale == 1.0:
        return message
    return message.replace(
        f"calibration ({where}): the model predicted {entry['mean_predicted']:.1%}",
        f"calibration ({where}, beside the whole model): the model predicted "
        f"{raw_mean:.1%}, {entry['mean_predicted']:.1%} scaled by all matured referrals' "
        f"observed/expected ({scale:.2f}),", 1)


def _watch_words(check: Check, entry: dict[str, Any], n: int, was_outside: bool) -> str:
    """A message of a group outside the tolerance but not after correction, ending as its
    verdict after the correction of its difference from 1 ("watch" or not), with its raw
    and adjusted p-values."""
    watch = entry["verdict"] == "watch"
    after = f"after correction for the {n} groups compared"
    against_1 = (f"p {p_text(entry['p_value_against_1'])}, adjusted p "
                 f"{p_text(entry['adjusted_p_against_1'])} against 1")
    if was_outside:
        return (f"{check.message}: outside the tolerance, but "
                + (f"not {after}; different from 1 after it" if watch
                   else f"neither outside it nor different from 1 {after}")
                + f" (p {p_text(entry['p_value'])}, adjusted p "
                f"{p_text(entry['adjusted_p'])} against the tolerance; {against_1}): "
                + (WATCH_NEXT if watch else NOT_SHOWN))
    return (f"{check.message.removesuffix(f': {WATCH}')}: outside the tolerance, but its "
            "interval reaches inside it"
            + ("; different from 1 " if watch else " and it is not different from 1 ")
            + f"{after} ({against_1}): " + (WATCH_NEXT if watch else NOT_SHOWN))


def _corrected(entries: list[dict[str, Any]], checks: list[Check],
               settings: MonitoringSettings) -> tuple[list[Check], dict[str, Any]]:
    """The groups' checks after the correction for the groups compared (see the module):
    each judged entry gets its raw `p_value` and `p_value_against_1` and their adjusted
    p-values (`adjusted_p`, `adjusted_p_against_1`); a crossed check whose adjusted p
    exceeds `ALPHA` no longer crosses, a group outside the tolerance whose difference from
    1 does not hold after correction is not "watch", and each message says how it stands
    after correction."""
    judged = [(i, p, tolerance_p_value(entries[i], settings, bounds=(1.0, 1.0)))
              for i, entry in enumerate(entries) if entry["verdict"] != "too few to judge"
              and (p := tolerance_p_value(entry, settings)) is not None]
    n = len(judged)
    out = list(checks)
    for (i, p, p_1), adjusted_p, adjusted_1 in zip(
            judged, adjusted([p for _, p, _ in judged]), adjusted([p for _, _, p in judged]),
            strict=True):
        entry = entries[i]
        entry.update(p_value=round(p, 6), adjusted_p=adjusted_p,
                     p_value_against_1=None if p_1 is None else round(p_1, 6),
                     adjusted_p_against_1=adjusted_1)
        was_outside = entry["verdict"] == "outside tolerance"
        if was_outside and adjusted_p is not None and adjusted_p <= ALPHA:
            out[i] = replace(checks[i], message=(
                f"{checks[i].message}; outside it after correction for the {n} groups "
                f"compared (adjusted p {p_text(adjusted_p)})"))
        elif was_outside or entry["verdict"] == "watch":
            entry["verdict"] = ("watch" if adjusted_1 is not None and adjusted_1 <= ALPHA
                                else UNDETERMINED)
            out[i] = replace(checks[i], crossed=False,
                             message=_watch_words(checks[i], entry, n, was_outside))
    return out, {"method": METHOD, "level": ALPHA, "comparisons": n,
                 "verdicts": ["outside tolerance", "watch"]}


def group_calibration(
    section: dict[str, Any],
    matured: pd.DataFrame,
    *,
    y: np.ndarray,
    probability: np.ndarray,
    families: np.ndarray,
    settings: MonitoringSettings,
) -> list[Check]:
    """O/E of each group's matured referrals, added to the section as
    ``calibration_by_group`` (with the correction's record, `CORRECTION_KEY`), its
    checks corrected for the groups compared; none where the section says outcomes
    cannot be judged, or too few referrals matured to judge them over all
    (`min_matured_referrals`): a group is no surer than the whole."""
    if "now" not in section or len(y) < settings.min_matured_referrals:
        return []
    per_group = settings.model_copy(update={"min_matured_referrals": settings.min_group_referrals})
    scale = _whole_model_scale(y, probability)
    figures: dict[str, Any] = {}
    entries, checks = [], []
    for attribute, groups in group_masks(matured).items():
        figures[attribute] = {}
        for value, mask in groups.items():
            entry = observed_expected(y[mask], probability[mask] * scale, families[mask])
            figures[attribute][value] = entry
            entries.append(entry)
            where = group_phrase({attribute: value})
            check = judge_entry(entry, f"observed_expected/{attribute}={value}", where,
                                per_group, kind=CALIBRATION_KIND)
            raw = float(np.mean(probability[mask])) if mask.any() else None
            checks.append(replace(check, message=_beside_whole_model(
                entry, raw, scale, check.message, where)) if raw is not None else check)
    section["calibration_by_group"] = figures
    section[SCALE_KEY] = scale
    checks, section[CORRECTION_KEY] = _corrected(entries, checks, per_group)
    return checks
