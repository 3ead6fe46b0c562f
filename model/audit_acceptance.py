"""Acceptance checks read from a version's latest fairness audit of an extract.

`safeguard train` audits the test period alone, a fifth of the referrals, where a group
of a few hundred is too small to judge: an independent probe's planted disparity (Black
subjects' outcomes at 2.5 times the odds) left 69 Black test referrals ("too small to
judge"), while `safeguard audit fairness` on the whole extract found their risk
predicted 10.1 points below the observed rate (95% interval -11.8 to -8.0), twice the
board's `max_group_calibration_gap`, and the version was approved without anyone
waiving it. So `safeguard audit fairness` records its report with the version's run
(`EXTRACT_AUDIT_ARTIFACT`; a later audit replaces it unless it is narrower,
`model.audit_record`), an approval covers it (its SHA-256,
`model.card_sources.RECORDED_FILES`), and these checks judge it
against the same fairness thresholds, each under its own name (`AUDIT_PREFIX` and the
threshold's) and waived as the others are.

A group fails a check when the audit calls it a finding (significant after the audit's
correction for its many comparisons: not a possible one, nor one that falls to the
correction) and its point estimate lies beyond the board's threshold: large in practical
terms and statistically significant, the reading of the four-fifths rule's own guidance
(`model.fairness_flags`). The board then waives it by name with a reason, or does not
approve. Until 7 December a finding failed only when its whole 95% interval lay beyond
the threshold too: an independent probe's planted under-prediction (health withheld 85% of
its records about Black households) made Black subjects a calibration finding (5.8 points
beside the overall gap, adjusted p = 0.00016), and Black female and Black non-disabled
subjects too, yet the card read "required <= 0.05, measured 0.103, met yes" and the planted
disparity needed no waiver: a board reads that as a pass. The interval asks a second,
stricter question (is the whole effect past the threshold?) that a real disparity near
the threshold cannot answer. A group beyond the threshold on its point estimate
that is not a finding stays listed on the check (`possible`), worded as such ("not a
finding of the audit (could be chance): no waiver needed"), failing nothing. One rule for
the ratios and the calibration gap alike. Calibration is judged beside the model's overall
gap (the group's gap beside the whole model's miscalibration scaled to its risk,
`calibration_gap_beyond_overall`, of a group the audit found miscalibrated on its own gap
too), and the overall gap is judged too, as "every referral audited": a model off for
everyone is one figure, not one per group. A check's measured figure is the largest of
any judged group, finding or not. A version with no such audit fails
`FAIRNESS_AUDIT_RECORDED` ("no fairness audit of an extract recorded"), as a version
without its test-period audit fails the fairness thresholds: waivable, with a reason, like
any other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from model.fairness_flags import MISCALIBRATED, RATIO_METRICS, TOO_SMALL
from model.fairness_groups import group_phrase
from model.fairness_metrics import OVERALL
from model.fairness_results import BEYOND_OVERALL
from model.finite_json import finite_number
from model.governance import AcceptanceThresholds
from model.threshold_checks import GroupFigure, ThresholdCheck, groups_text, read_both_ways

# A check of the audit is named as the threshold it judges, with this before it.
AUDIT_PREFIX: Final = "audit_"
FAIRNESS_AUDIT_RECORDED: Final = "fairness_audit_recorded"
NO_EXTRACT_AUDIT: Final = ("no fairness audit of an extract recorded: run `safeguard audit "
                           "fairness --model VERSION --input EXTRACT --output DIR` first")
_RATIOS: Final = {"max_selection_rate_disparity": "selection_rate",
                  "max_false_positive_rate_disparity": "false_positive_rate",
                  "max_true_positive_rate_disparity": "true_positive_rate"}
_GAP: Final = "max_group_calibration_gap"
EVERYONE: Final = "every referral audited (the whole model)"



def _pair(value: object) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = (finite_number(end) for end in value)
        if low is not None and high is not None:
            return low, high
    return None


def _ratio_figure(group: Mapping[str, Any], metric: str, required: float
                  ) -> tuple[float, GroupFigure, bool] | None:
    """A group's ratio as (its size read both ways, its figure, whether it fails)."""
    value = finite_number(group.get(f"{metric}_ratio"))
    if value is None or group.get("is_reference"):
        return None
    size = math.inf if value <= 0 else max(value, 1 / value)
    interval = _pair(group.get(f"{metric}_ratio_ci"))
    flag = RATIO_METRICS[metric]
    finding = flag in group.get("flags", ()) and flag not in group.get("possible_flags", ())
    fails = size > required and finding
    note = "" if interval is None else f"95% interval {interval[0]:.4g} to {interval[1]:.4g}"
    return size, GroupFigure(group_phrase(dict(group["attributes"])), f"{metric.replace('_', ' ')}"
                             " ratio", value, note, bounds=(1 / required, required)), fails


def _gap_figure(who: str, value: float | None, interval: tuple[float, float] | None,
                required: float, *, finding: bool, metric: str
                ) -> tuple[float, GroupFigure, bool] | None:
    if value is None:
        return None
    note = ("" if interval is None else
            f"95% interval {interval[0]:+.4f} to {interval[1]:+.4f}")
    fails = abs(value) > required and finding
    return abs(value), GroupFigure(who, metric, value, note, bounds=(-required, required)), fails


def _gap_figures(audit: Mapping[str, Any], judged: list[Mapping[str, Any]], required: float
                 ) -> list[tuple[float, GroupFigure, bool]]:
    """Each group's gap beside the overall gap, and the overall gap itself."""
    overall = audit.get(OVERALL) or {}
    found = [_gap_figure(EVERYONE, finite_number(overall.get("calibration_gap")),
                         _pair(overall.get("calibration_gap_ci")), required,
                         finding=bool(overall.get("miscalibrated")), metric="calibration gap")]
    for group in judged:
        beside = BEYOND_OVERALL if group.get(BEYOND_OVERALL) is not None else "calibration_gap"
        finding = (MISCALIBRATED in group.get("flags", ())
                   and MISCALIBRATED not in group.get("possible_flags", ()))
        found.append(_gap_figure(
            group_phrase(dict(group["attributes"])), finite_number(group.get(beside)),
            _pair(group.get(f"{beside}_ci")), required, finding=finding,
            metric=("calibration gap beside the overall gap" if beside == BEYOND_OVERALL
                    else "calibration gap")))
    return [f for f in found if f is not None]


def _covered(audit: Mapping[str, Any]) -> str:
    audited = audit.get("audited") or {}
    extract = f" of the extract dated {audited['extract_date']}" if audited.get(
        "extract_date") else ""
    since = f", referrals since {audited['since']}" if audited.get("since") else ""
    return (f"the fairness audit{extract} ({audit.get('n_labelled', 0):,} labelled referrals"
            f"{since}; {audit.get('generated_at', 'undated')})")


def _withheld(figures: list[tuple[float, GroupFigure, bool]], key: str,
              published: Mapping[str, Any] | None) -> list[tuple[float, GroupFigure, bool]]:
    """The figures, each the publication form withholds (its `key` null there) withheld."""
    if published is None:
        return figures
    shown = {group_phrase(dict(g["attributes"])): g for g in published.get("groups", [])}
    out = []
    for size, figure, fails in figures:
        group = shown.get(figure.group)
        if figure.group != EVERYONE and (group is None or group.get(key) is None):
            figure = replace(figure, value=None, note="", withheld=True)
        out.append((size, figure, fails))
    return out


def _possible_text(possible: tuple[GroupFigure, ...], shown: int = 8) -> str:
    """The groups beyond a threshold on the point estimate that are not findings of the
    audit, by name (their figures are on the check): on a whole extract they may be
    dozens, and a detail is read whole. Never a finding: a finding beyond it fails it."""
    if not possible:
        return ""
    names = [figure.group for figure in possible[:shown]]
    more = f" and {len(possible) - shown} more" if len(possible) > shown else ""
    count = "1 group" if len(possible) == 1 else f"{len(possible)} groups, each"
    return (f"{count} beyond it on the point estimate but not a finding of the audit (could "
            f"be chance): no waiver needed: {', '.join(names)}{more}")


def _check(name: str, description: str, required: float,
           figures: list[tuple[float, GroupFigure, bool]], covered: str) -> ThresholdCheck:
    figures = sorted(figures, key=lambda f: -f[0])
    failing = tuple(figure for _, figure, fails in figures if fails)
    possible = tuple(figure for size, figure, fails in figures
                     if size > required and not fails)
    worst = figures[0][0] if figures else None
    hidden = bool(figures) and figures[0][1].withheld
    measured = None if worst is None or math.isinf(worst) or hidden else worst
    # A ratio below 1 is measured read the other way: say so first, or "measured 9.637"
    # matches none of the ratios listed (0.1038).
    inverted = "" if measured is None or not figures[0][1].metric.endswith("ratio") else (
        read_both_ways(figures[0][1].group, figures[0][1].value, measured))
    detail = "; ".join(part for part in (
        inverted, covered, groups_text(failing) if failing else "", _possible_text(possible))
        if part)
    return ThresholdCheck(f"{AUDIT_PREFIX}{name}", description, f"<= {required:g}", measured,
                          not failing, detail, withheld=hidden, groups=failing,
                          possible=possible, threshold=required)


def audit_checks(thresholds: AcceptanceThresholds, audit: Mapping[str, Any] | None, *,
                 published: Mapping[str, Any] | None = None) -> list[ThresholdCheck]:
    """The fairness thresholds judged on the latest fairness audit of an extract (None:
    none recorded, one unmet check `FAIRNESS_AUDIT_RECORDED`); with `published` (the
    audit as published), a figure publication withholds is withheld (met or not is
    judged on the full audit)."""
    if audit is None:
        return [ThresholdCheck(
            FAIRNESS_AUDIT_RECORDED, "a fairness audit of an extract (`safeguard audit "
            "fairness`), recorded with the version", "recorded", None, False,
            NO_EXTRACT_AUDIT)]
    judged = [g for g in audit.get("groups", []) if TOO_SMALL not in g.get("flags", ())]
    covered = _covered(audit)
    checks = []
    for name, metric in _RATIOS.items():
        required = float(getattr(thresholds, name))
        figures = _withheld([f for g in judged if (f := _ratio_figure(g, metric, required))],
                            f"{metric}_ratio", published)
        checks.append(_check(name, f"largest {metric.replace('_', ' ')} disparity of a "
                             "group in the fairness audit of an extract (a finding beyond "
                             "the threshold fails it)", required, figures, covered))
    required = float(thresholds.max_group_calibration_gap)
    checks.append(_check(_GAP, "largest calibration gap of a group beside the overall gap, "
                         "or over every referral, in the fairness audit of an extract "
                         "(a finding beyond the threshold fails it)", required,
                         _withheld(_gap_figures(audit, judged, required), "calibration_gap",
                                   published), covered))
    return checks
