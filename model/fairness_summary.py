"""The fairness audit's findings in plain words, for a governance board.

One sentence per flag of each group large enough to judge, e.g. "Black subjects are
placed in the high or very high bands 1.4 times as often as White subjects (the
largest group)." An intersection's reference shares its other values ("... as White
female subjects (the largest group of female subjects)"). Built from the audit as
published (suppressed figures stay out).
"""

from __future__ import annotations

from typing import Final

from model.fairness import MISCALIBRATED, RATIO_METRICS, FairnessAudit, GroupResult
from model.fairness_groups import NOT_RECORDED, stratum

_BEFORE: Final[dict[str, dict[str, str]]] = {
    "ethnicity_group": {"asian": "Asian", "black": "Black", "white": "White"},
    "sex": {"female": "female", "male": "male"},
    "disability": {"yes": "disabled", "no": "non-disabled"},
}
_AFTER: Final[dict[str, dict[str, str]]] = {
    "ethnicity_group": {"mixed": "of mixed ethnicity", "other": "of other ethnicity",
                        "unknown": "of unknown ethnicity"},
    "sex": {"unknown": "of unknown sex"},
    "deprivation_group": {NOT_RECORDED: "with no deprivation decile recorded"},
}
_NOUNS: Final = {"child": "children", "adult_at_risk": "adults at risk"}
_ATTRIBUTE_WORDS: Final = {"ethnicity_group": "ethnicity", "deprivation_group": "deprivation",
                           "age_band": "age", "subject_type": "subject type"}


def _after(attribute: str, value: str) -> str:
    if value in _AFTER.get(attribute, {}):
        return _AFTER[attribute][value]
    if value == NOT_RECORDED:
        return f"with {_ATTRIBUTE_WORDS.get(attribute, attribute)} not recorded"
    if attribute == "age_band":
        return "aged " + value.replace("_", " ")
    if attribute == "deprivation_group":
        low, high = value.removeprefix("deciles_").split("_")
        return f"living in IMD deciles {low}-{high}"
    return value.replace("_", " ")


def group_phrase(attributes: dict[str, str]) -> str:
    """Who a group is, e.g. ``Black female subjects`` or ``White subjects aged 10 to 15``."""
    before, after, noun = [], [], "subjects"
    for attribute, value in attributes.items():
        if attribute == "subject_type" and value in _NOUNS:
            noun = _NOUNS[value]
        elif value in _BEFORE.get(attribute, {}):
            before.append(_BEFORE[attribute][value])
        else:
            after.append(_after(attribute, value))
    return " ".join([*before, noun, *after])


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


def times_phrase(ratio: float, bounds: tuple[float, float] | None = None) -> str:
    """E.g. "1.4 times" (`ratio_text`, its trailing zeros dropped)."""
    return ratio_text(ratio, bounds).rstrip("0").rstrip(".") + " times"


def _ratio_sentence(metric: str, group: GroupResult, reference: str, bands: str,
                    bounds: tuple[float, float]) -> str | None:
    ratio = group.ratios[metric]
    if ratio is None:
        return None
    who, times = group_phrase(group.attributes), times_phrase(ratio, bounds)
    if metric == "selection_rate":
        return (f"{who} are placed in the {bands} bands {times} as often as "
                f"{reference} ({largest_phrase(group.attributes)}).")
    if metric == "false_positive_rate":
        return (f"Among {who} who did not go on to have the outcome, {times} as many "
                f"are placed in the {bands} bands as among {reference} (false positive rate).")
    return (f"Among {who} who went on to have the outcome, {times} as many are "
            f"placed in the {bands} bands as among {reference} (true positive rate).")


def _calibration_sentence(group: GroupResult) -> str | None:
    gap, interval = group.metrics["calibration_gap"], group.intervals["calibration_gap"]
    predicted, observed = group.metrics["mean_predicted"], group.metrics["observed_rate"]
    if gap is None or interval is None or predicted is None or observed is None:
        return None
    direction = "higher" if gap > 0 else "lower"
    return (f"For {group_phrase(group.attributes)} the model predicts a {direction} risk than "
            f"was observed: {predicted:.1%} on average against an observed rate of "
            f"{observed:.1%} (a gap of {gap * 100:+.1f} points, 95% interval "
            f"{interval[0] * 100:+.1f} to {interval[1] * 100:+.1f}).")


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


def finding_sentences(audit: FairnessAudit) -> list[str]:
    """A sentence per flag (disparity or miscalibration) of every group judged."""
    bands = _bands_phrase(audit)
    bounds = flag_bounds(audit)
    references = {stratum(g.attributes): group_phrase(g.attributes)
                  for g in audit.groups if g.is_reference}
    sentences = []
    for group in audit.flagged():
        reference = references.get(stratum(group.attributes), largest_phrase(group.attributes))
        for metric, flag in RATIO_METRICS.items():
            text = _ratio_sentence(metric, group, reference, bands, bounds)
            if flag in group.flags and text:
                sentences.append(text)
        if MISCALIBRATED in group.flags and (text := _calibration_sentence(group)):
            sentences.append(text)
    return [s[0].upper() + s[1:] for s in sentences]
