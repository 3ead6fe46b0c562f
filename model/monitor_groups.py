"""Monitoring by protected group: each group's recent records (its matured outcomes are
`model.monitor_group_outcomes`'s).

Two changes the overall checks could not see (a probe, planted after a model's training
date): the health feed kept 15% of the records about Black families (Black referrals with
a subject health record in the prior 90 days fell 27.2% -> 8.2%, others 28.9% -> 28.5%),
and Asian subjects' outcomes doubled (28.0% of 189 matured referrals against a predicted
14%). Both passed: coverage by group asked only whether a group ever had a record from
the agency, and observed/expected was judged overall and by band only.

- *Recent coverage by group*: per agency, the share of a group's referrals with a record
  dated in the `RECENT_WINDOW` before the referral, now against the group's own share at
  training (stored in the monitoring reference as `REFERENCE_KEY`). Listed when it fell
  below `coverage_min_ratio` of it; crossed when, besides, the ratio's one-sided upper
  bound at the 1% level shared among the groups and agencies judged (`FALSE_ALARM`,
  Bonferroni) is below 1, its variance the delta method's on both
  periods' counts, each times its design effect (`model.families.design_effect`: a
  family's referrals share the household's records); too few to judge when either period
  would hold fewer than `MIN_RECORDS` of the group's records at the training share.
- *Observed/expected by group*: `model.monitor_group_outcomes`'s, over the same groups
  (`group_masks`).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from scipy.stats import norm

from data_contracts.vocab import AGENCIES
from model.fairness_groups import VALUES, attribute_frame, group_phrase
from model.families import design_effect
from model.governance import MonitoringSettings
from model.monitoring import Check, coverage_fell, coverage_words
from model.monitoring_reference import held_shares, recent_held

REFERENCE_KEY: Final = "recent_coverage_by_group"
GROUP_ATTRIBUTES: Final[tuple[str, ...]] = ("ethnicity_group", "sex", "age_band", "disability")
# One-sided, shared among the groups and agencies judged in a run (Bonferroni): with each
# judged at 1%, about 150 of them made 7 of 100 runs of unchanged data cross one.
FALSE_ALARM: Final = 0.01
MIN_RECORDS: Final = 10  # fewer of a group's records expected: too few to judge
COVERAGE_KIND: Final = "coverage_group_recent"


def group_masks(features: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Each attribute's groups (the fairness audit's), as boolean masks, in the audit's
    reading order (ages youngest first, "not recorded" last)."""
    frame = attribute_frame(features)
    masks: dict[str, dict[str, np.ndarray]] = {}
    for attribute in GROUP_ATTRIBUTES:
        labels = frame[attribute].to_numpy(dtype=object)
        order = {value: i for i, value in enumerate(VALUES[attribute])}
        found = sorted(set(labels.tolist()), key=lambda v: (order.get(v, len(order)), v))
        masks[attribute] = {str(v): labels == v for v in found}
    return masks


def recent_by_group(features: pd.DataFrame, families: np.ndarray | None,
                    held: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Per group, referrals, and per agency the recent share and its design effect
    (`held`: `recent_held` of `features`, when the caller has it)."""
    held = recent_held(features) if held is None else held
    out: dict[str, Any] = {}
    for attribute, groups in group_masks(features).items():
        out[attribute] = {
            value: {
                "n": int(mask.sum()),
                "shares": {a: float(flags[mask].mean()) for a, flags in held.items()},
                "design_effect": {
                    a: design_effect(flags[mask].astype(np.int64),
                                      None if families is None else families[mask])
                    for a, flags in held.items()
                },
            }
            for value, mask in groups.items()
        }
    return out


def _log_ratio(now: dict[str, Any], old: dict[str, Any], agency: str) -> tuple[float, float]:
    """log(share now / share at training) and its variance (delta method, each period's
    binomial variance times its design effect; half a referral added to each count)."""
    parts = []
    for entry in (now, old):
        n = entry["n"]
        share = (entry["shares"][agency] * n + 0.5) / (n + 1)
        parts.append((share, entry["design_effect"][agency] * (1 - share) / ((n + 1) * share)))
    return float(np.log(parts[0][0] / parts[1][0])), parts[0][1] + parts[1][1]


def _fall_words(attribute: str, value: str, agency: str, now: dict[str, Any],
                old: dict[str, Any], overall: tuple[float, float]) -> str:
    """What fell, for whom, with the counts and all referrals' shares beside it."""
    _, records = coverage_words(agency, recent=True)
    before, after = old["shares"][agency], now["shares"][agency]
    return (
        f"{records} for {before:.0%} of the referrals of {group_phrase({attribute: value})} "
        f"at training ({old['n']:,}), "
        f"{after:.0%} now ({round(after * now['n']):,} of {now['n']:,}); all referrals "
        f"{overall[0]:.0%} at training, {overall[1]:.0%} now"
    )


def _fall(attribute: str, value: str, agency: str, now: dict[str, Any],
          old: dict[str, Any], overall: tuple[float, float], settings: MonitoringSettings,
          z: float) -> Check | None:
    """A group's recent records from one agency fallen below `coverage_min_ratio` of its
    share at training (None when not), crossed when beyond sampling noise, unless all
    referrals' share fell as far (the agency's own check crosses then)."""
    before, after = old["shares"][agency], now["shares"][agency]
    if (
        before < settings.coverage_min_training_share
        or after >= before * settings.coverage_min_ratio
    ):
        return None
    log_ratio, variance = _log_ratio(now, old, agency)
    upper = float(np.exp(log_ratio + z * np.sqrt(variance)))
    enough = _enough(now, old, agency)
    everyone = coverage_fell(*overall, settings)
    if not enough:
        note = (
            f": too few records to judge (fewer than {MIN_RECORDS} expected at the training share)"
        )
    elif everyone:
        note = "; all referrals' share fell as far: the agency's own check names it"
    elif upper < 1:
        note = f"; fell by more than sampling noise (upper bound {upper:.2f} of the ratio)"
    else:
        note = f"; within the sampling noise (upper bound {upper:.2f} of the ratio)"
    subject = f"{coverage_words(agency, recent=True)[0]}/{attribute}={value}"
    return Check(
        COVERAGE_KIND,
        subject,
        enough and not everyone and upper < 1,
        _fall_words(attribute, value, agency, now, old, overall) + note,
        assessed=enough,
    )


def _enough(now: dict[str, Any], old: dict[str, Any], agency: str) -> bool:
    """Whether `MIN_RECORDS` of the group's records are expected at its training share."""
    return bool(min(now["n"], old["n"]) * old["shares"][agency] >= MIN_RECORDS)


def _pairs(
    before: dict[str, Any], now: dict[str, Any], settings: MonitoringSettings
) -> list[tuple[str, str, str]]:
    """The (attribute, group, agency) triples looked at: groups of at least
    `min_group_referrals` then and now, agencies with records for at least
    `coverage_min_training_share` of the group at training (judged when `_enough`)."""
    pairs = []
    for attribute, groups in now.items():
        for value, entry in groups.items():
            old = before.get(attribute, {}).get(value)
            if old is None or min(entry["n"], old["n"]) < settings.min_group_referrals:
                continue
            pairs += [
                (attribute, value, a)
                for a in AGENCIES
                if old["shares"][a] >= settings.coverage_min_training_share
            ]
    return pairs


def recent_group_coverage(
    reference: dict[str, Any],
    features: pd.DataFrame,
    families: np.ndarray | None,
    settings: MonitoringSettings,
) -> tuple[dict[str, Any], list[Check]]:
    """Each group's recent coverage at training and now, and the falls (see the module):
    the 1% level is shared among every group and agency judged (Bonferroni), so that a
    run of unchanged data seldom crosses any."""
    held = recent_held(features)
    now = recent_by_group(features, families, held)
    before = reference.get(REFERENCE_KEY)
    if before is None:
        return {
            "training": None,
            "now": now,
            "note": "not assessed: this version was "
            "trained before recent coverage by group was stored with it",
        }, []
    overall_before = reference["coverage"].get("recent", {})
    overall_now = held_shares(held)
    pairs = _pairs(before, now, settings)
    # The level is shared among the pairs judged: those too few to judge are listed only.
    judged = sum(_enough(now[g][v], before[g][v], a) for g, v, a in pairs)
    z = float(norm.isf(FALSE_ALARM / max(judged, 1)))
    falls = (
        _fall(
            attribute,
            value,
            a,
            now[attribute][value],
            before[attribute][value],
            (overall_before.get(a, float("nan")), overall_now[a]),
            settings,
            z,
        )
        for attribute, value, a in pairs
    )
    section = {"training": before, "now": now, "judged": judged, "z": z}
    return section, [fall for fall in falls if fall is not None]
