"""The fairness audit's findings in plain words, for a governance board.

One sentence per flag of each group large enough to judge, e.g. "Black subjects are
placed in the high or very high bands 1.4 times as often as White subjects (the
largest group)." An intersection's reference shares its other values ("... as White
female subjects (the largest group of female subjects)"). Built from the audit as
published (suppressed figures stay out).
"""

from __future__ import annotations

from typing import Any, Final

from model.fairness_flags import (
    MISCALIBRATED,
    RATIO_METRICS,
    beyond_tolerance,
    includes_parity,
)
from model.fairness_groups import group_phrase, stratum
from model.fairness_metrics import OVERALL
from model.fairness_multiplicity import correction_words
from model.fairness_record_words import records_behind_selection, records_beside
from model.fairness_recording import RECORDING
from model.fairness_results import FairnessAudit, GroupResult


def ratio_text(ratio: float, bounds: tuple[float, float] | None = None) -> str:
    """A ratio with two decimals, or as many more as it takes (up to the six the audit
    keeps) to fall on the same side of each flag bound as the ratio itself: 0.797954,
    flagged under a bound of 0.8, reads "0.798", never "0.80"."""
    for places in range(2, 7):
        text = f"{ratio:.{places}f}"
        if bounds is None or all((float(text) < bound) == (ratio < bound)
                                 and (float(text) > bound) == (ratio > bound)
                                 for bound in bounds):
            return text
    return text


def interval_ends(interval: tuple[float, float],
                  bounds: tuple[float, float] | None = None) -> tuple[str, str]:
    """An interval's ends as `ratio_text` writes them, each also on its side of 1 (no
    disparity), which decides a finding: an upper end of 0.9996 read "1.00" beside
    words saying the interval excludes 1."""
    sides = (*(bounds or ()), 1.0)
    return ratio_text(interval[0], sides), ratio_text(interval[1], sides)


def ratio_with_interval(ratio: float, interval: tuple[float, float] | None,
                        bounds: tuple[float, float] | None = None) -> str:
    """E.g. "0.47 (0.42 to 0.53)": the ratio and, where the audit computed one, its interval."""
    text = ratio_text(ratio, bounds)
    if interval is None:
        return text
    low, high = interval_ends(interval, bounds)
    return f"{text} ({low} to {high})"


def times_phrase(ratio: float, bounds: tuple[float, float] | None = None) -> str:
    """E.g. "1.4 times" (`ratio_text`, its trailing zeros dropped)."""
    return ratio_text(ratio, bounds).rstrip("0").rstrip(".") + " times"


_NAMES: Final = {"selection_rate": "selection rate", "false_positive_rate":
          "false positive rate", "true_positive_rate": "true positive rate"}
_AMONG: Final = {"selection_rate": "", "false_positive_rate":
                 " who did not go on to have the outcome",
                 "true_positive_rate": " who went on to have the outcome"}


def _interval_words(interval: tuple[float, float] | None,
                    bounds: tuple[float, float]) -> str:
    """"; 95% interval 0.42 to 0.53" and what it says: that it includes 1, no difference
    (a possible disparity), that it lies wholly outside the tolerance, or that it shows a
    difference that may still lie within the tolerance."""
    if interval is None:
        return ""
    low, high = interval_ends(interval, bounds)
    if includes_parity(interval):
        said = ", which includes no difference"
    elif beyond_tolerance(interval, *bounds):
        said = ", wholly outside the tolerance"
    else:
        said = (f": a difference, though the interval reaches back inside the tolerance "
                f"({ratio_text(bounds[0])} to {ratio_text(bounds[1])}), so it may be smaller "
                "than the tolerance")
    return f"; 95% interval {low} to {high}{said}"


def _zero_sentence(metric: str, group: GroupResult, who: str, reference: GroupResult | None,
                   bands: str) -> str | None:
    """A rate of 0 on one side only, which no ratio (or a ratio of 0) says plainly."""
    own = group.metrics[metric]
    base = None if reference is None else reference.metrics[metric]
    if own is None or base is None or reference is None:
        return None
    ratio = ("ratio 0" if group.ratios[metric] == 0 else
             "no ratio: the largest group's rate is 0")
    return (f"{own:.1%} of {who}{_AMONG[metric]} are placed in the {bands} bands, against "
            f"{base:.1%} of {group_phrase(reference.attributes)}{_AMONG[metric]} "
            f"({_NAMES[metric]}, {ratio}).")


def _ratio_sentence(metric: str, group: GroupResult, reference: GroupResult | None,
                    bands: str, bounds: tuple[float, float]) -> str | None:
    ratio = group.ratios[metric]
    who = group_phrase(group.attributes)
    if ratio is None or ratio == 0:
        return _zero_sentence(metric, group, who, reference, bands)
    times = times_phrase(ratio, bounds)
    than = (group_phrase(reference.attributes) if reference is not None
            else largest_phrase(group.attributes))
    interval = _interval_words(group.ratio_intervals[metric], bounds)
    if metric == "selection_rate":
        return (f"{who} are placed in the {bands} bands {times} as often as "
                f"{than} ({largest_phrase(group.attributes)}{interval}).")
    return (f"Among {who}{_AMONG[metric]}, {times} as many are placed in the {bands} bands "
            f"as among {than} ({_NAMES[metric]}{interval}).")


def _overall_beside(group: GroupResult, overall: dict[str, Any] | None) -> str:
    """The whole model's calibration beside a group's, and the group's gap beside it (its
    predictions scaled by the overall observed/predicted ratio, less its observed rate:
    `gap_beside_overall`), its own clause; nothing from an audit that did not record it."""
    if not overall or overall.get("calibration_gap") is None:
        return ""
    said = (f" Over all {overall['n']:,} referrals audited the gap is "
            f"{overall['calibration_gap'] * 100:+.1f} points ({overall['mean_predicted']:.1%} "
            f"predicted, {overall['observed_rate']:.1%} observed)")
    beyond, interval = group.gap_beyond_overall, group.gap_beyond_overall_interval
    if beyond is None or interval is None or not overall.get("mean_predicted"):
        return (f"{said}: the part of this group's gap in the same direction may be the "
                "model's, for every group.")
    scale = overall["observed_rate"] / overall["mean_predicted"]
    return (f"{said}. Beside the whole model's miscalibration, scaled to this group's risk "
            f"(its predictions times {scale:.2f}, the observed/predicted ratio over all "
            f"referrals), its gap is {beyond * 100:+.1f} points (95% interval "
            f"{interval[0] * 100:+.1f} to {interval[1] * 100:+.1f}): the part that is the "
            "group's own.")


def _calibration_sentence(group: GroupResult, recording: dict[str, Any] | None = None,
                          overall: dict[str, Any] | None = None) -> str | None:
    gap, interval = group.metrics["calibration_gap"], group.intervals["calibration_gap"]
    predicted, observed = group.metrics["mean_predicted"], group.metrics["observed_rate"]
    if gap is None or interval is None or predicted is None or observed is None:
        return None
    # The words follow the group's own figures: predicted above observed is "higher".
    direction = "higher" if predicted > observed else "lower"
    # The records the audit found, pointing the same way, are said first, as the evidence
    # in hand; label bias, which the extract cannot show, after (a probe's disabled
    # subjects, whose records it had thinned, read label bias first).
    records = records_beside(group, recording, gap)
    return (f"For {group_phrase(group.attributes)} the model predicts a {direction} risk than "
            f"was observed: {predicted:.1%} on average against an observed rate of "
            f"{observed:.1%} (a gap of {gap * 100:+.1f} points, 95% interval "
            f"{interval[0] * 100:+.1f} to {interval[1] * 100:+.1f})."
            f"{_overall_beside(group, overall)}{records} The gap may "
            f"{'also ' if records else ''}come from how this group's outcomes were recorded "
            "(label bias), not only from the model.")


def overall_sentence(audit: FairnessAudit) -> str | None:
    """The model's miscalibration over every referral audited, said once (None: it is
    within the tolerance, or the audit did not judge it)."""
    overall = audit.extra.get(OVERALL) or {}
    interval = overall.get("calibration_gap_ci")
    if not audit.overall_miscalibrated() or interval is None:
        return None
    gap = overall["calibration_gap"]
    return (f"Over all {overall['n']:,} referrals audited the model predicts a "
            f"{'higher' if gap > 0 else 'lower'} risk than was observed: "
            f"{overall['mean_predicted']:.1%} on average against an observed rate of "
            f"{overall['observed_rate']:.1%} (a gap of {gap * 100:+.1f} points, 95% interval "
            f"{interval[0] * 100:+.1f} to {interval[1] * 100:+.1f}). The whole model is "
            "miscalibrated on these referrals, for every group alike; each group's gap is "
            "judged beside it, so this is not a finding about any group.")


def flag_bounds(audit: FairnessAudit) -> tuple[float, float]:
    """The ratios beyond which a disparity is flagged (`disparity_lower`, `_upper`)."""
    return (float(audit.tolerance.get("disparity_lower", 0.8)),
            float(audit.tolerance.get("disparity_upper", 1.25)))


def _bands_phrase(audit: FairnessAudit) -> str:
    names = list(audit.tolerance.get("selected_bands", ["high"]))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def largest_phrase(attributes: dict[str, str]) -> str:
    """What a group's reference is: "the largest group", or for an intersection "the
    largest group of female subjects"."""
    shared = dict(list(attributes.items())[1:])
    return f"the largest group of {group_phrase(shared)}" if shared else "the largest group"


POSSIBLE_WORDS: Final = ("Possible disparity only: the audit cannot tell it from no "
                         "disparity; more referrals are needed to tell.")
POSSIBLE_GAP_WORDS: Final = ("Possible miscalibration only: its 90% intervals (of its own gap "
                             "and beside the whole model's) leave out a gap of 0, but a 95% "
                             "interval reaches back inside the tolerance; more referrals are "
                             "needed to tell.")


def _sentences(audit: FairnessAudit, *, possible: bool) -> list[str]:
    bands = _bands_phrase(audit)
    bounds = flag_bounds(audit)
    references = {stratum(g.attributes): g for g in audit.groups if g.is_reference}
    sentences = []
    for group in audit.flagged():
        reference = references.get(stratum(group.attributes))
        wanted = group.possible if possible else group.findings()
        texts = {flag: _ratio_sentence(metric, group, reference, bands, bounds)
                 for metric, flag in RATIO_METRICS.items()}
        texts[MISCALIBRATED] = _calibration_sentence(group, audit.extra.get(RECORDING),
                                                     audit.extra.get(OVERALL))
        selection = RATIO_METRICS["selection_rate"]
        if texts.get(selection):
            texts[selection] = str(texts[selection]) + records_behind_selection(
                group, audit.extra.get(RECORDING))
        for flag, text in texts.items():
            if flag not in wanted or not text:
                continue
            words = correction_words(audit, group, flag)
            plain = possible and flag not in group.after_correction
            if plain:
                kind = POSSIBLE_GAP_WORDS if flag == MISCALIBRATED else POSSIBLE_WORDS
                sentences.append(f"{text} {kind}")
            else:
                sentences.append(text + words)
    return [s[0].upper() + s[1:] for s in sentences]


def finding_sentences(audit: FairnessAudit) -> list[str]:
    """A sentence per finding of every group judged: a disparity whose whole interval lies
    beyond the tolerance, or a miscalibration beside the model's overall gap; the overall
    miscalibration, when there is one, first (`overall_sentence`)."""
    overall = overall_sentence(audit)
    return [*([overall] if overall else []), *_sentences(audit, possible=False)]


def possible_sentences(audit: FairnessAudit) -> list[str]:
    """A sentence per possible disparity or miscalibration: flagged on its point estimate,
    its interval reaching back inside the tolerance (`model.fairness_flags.possible_flags`)."""
    return _sentences(audit, possible=True)


def headline(audit: FairnessAudit) -> str:
    """The audit's findings in one sentence, e.g. for `safeguard train`'s summary."""
    found, possible = len(audit.with_findings()), len(audit.possible_only())
    low, high = (ratio_text(b) for b in flag_bounds(audit))
    overall = audit.extra.get(OVERALL) or {}
    whole = (f"the model as a whole is miscalibrated (gap "
             f"{overall['calibration_gap'] * 100:+.1f} points over all referrals audited; each "
             "group's gap is judged beside it); " if audit.overall_miscalibrated() else "")
    return (f"{whole}{found} group{'s' * (found != 1)} with a finding (a ratio outside {low} to "
            f"{high} whose 95% interval leaves out 1, the ratio of equal rates; or a "
            "calibration gap whose interval lies beyond its tolerance, as does the gap "
            "beside the whole model's scaled to the group's risk; each still a finding "
            f"after correction for the many groups compared); {possible} more with possible "
            "findings only (beyond the tolerance on the point estimate, but the interval "
            "includes equal rates or reaches back inside the tolerance, or the evidence does "
            "not survive the correction: more referrals are needed to tell)")
