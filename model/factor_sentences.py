"""A factor's sentence: one feature's (`model.sentences`), or one concern's together.

A factor of several features is one concern (an event type about one relation): its
counts over each window and its recency read as one sentence, e.g. "3 arrests involving
this child in the last 12 months, 5 on record, the latest 20 days before the referral
(raises the score)", each feature's words coming from `model.sentences`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from model.sentences import (
    Subject,
    days_event,
    days_words,
    describe,
    direction_words,
    is_missing,
    sentence_for,
    whole,
)
from pipelines.feature_spec import FeatureSpec
from pipelines.manifest_lookup import spec_of
from pipelines.phrases import WINDOW_PHRASES


def _concern(specs: Sequence[FeatureSpec], values: Sequence[float | None],
             subject: Subject) -> str:
    """One concern's counts over each window and its recency, e.g. "3 arrests involving this
    child in the last 12 months, 5 on record, the latest 20 days before the referral"."""
    counts = [(s, whole(v)) for s, v in zip(specs, values, strict=True)
              if s.unit == "records" and v is not None]
    present = tuple((s.name, n) for s, n in counts if n > 0)
    if not present:
        spec, value = (counts[-1] if counts else (specs[-1], values[-1]))
        return describe(spec.name, value, subject=subject)
    return _counts_words(present, subject) + "".join(
        _latest_words(s.name, v) for s, v in zip(specs, values, strict=True)
        if s.unit == "days" and v is not None)


@functools.lru_cache(maxsize=65_536)
def _counts_words(present: tuple[tuple[str, int], ...], subject: Subject) -> str:
    """The counts above zero of one concern, the first in full, then each larger window's."""
    first, shown = present[0]
    text = describe(first, float(shown), subject=subject)
    for name, n in present[1:]:
        if n > shown:
            text += f", {n} {WINDOW_PHRASES[spec_of(name).window or 'ever']}"
            shown = n
    return text


def _latest_words(name: str, days: float) -> str:
    """A concern's recency after its counts, e.g. ", the latest 20 days before the referral"."""
    event = days_event(name)
    return f", {('the latest', 'the previous one')[event]} {days_words(days, event)}"


def factor_sentence(names: Sequence[str], values: Sequence[float | None], contribution: float,
                    *, subject: Subject = "child") -> str:
    """A factor's sentence: one feature's (`sentence_for`), or one concern's counts and
    recency together, e.g. "3 police domestic-abuse incidents involving a parent or carer
    in the household in the last 12 months, 51 on record (raises the score)".

    Args:
        names: The factor's manifest features, in manifest order.
        values: Their values for the case; None or NaN when missing.
        contribution: The factor's summed contribution (its sign matters).
        subject: Whether the person referred is a child, an adult at risk, or unknown.
    """
    if len(names) == 1:
        return sentence_for(names[0], values[0], contribution, subject=subject)
    known = [None if is_missing(v) else v for v in values]
    text = _concern([spec_of(n) for n in names], known, subject)
    return f"{text} ({direction_words(contribution)})"
