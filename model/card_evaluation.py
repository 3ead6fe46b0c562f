"""Which referrals a version's evaluation figures come from, and what of them a card shows.

Training judges a model on the test period's referrals from families not seen in
training or validation (`model.split`): a referral whose family's earlier referrals
taught the model is left out, so no family's outcomes both taught and judged it. Those
referrals are a subset of the test period (an independent probe's version 1: 911 of
2,847), and the service scores every referral, families seen before included: training
measures the model on the whole test period too (run metrics `test_period_*`,
`model.train`). `evaluated_on` says which referrals the card's figures come from, and
why, and sets the whole period's headline figures beside them ("not recorded" for a
version trained before they were measured).

`withhold_small_rows`: a row of the card's rates by band or by score resting on fewer
referrals than the fairness audit's `suppression_threshold` shows its count, not its
rates, as the card's fairness table does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from model.finite_json import finite_number
from model.split import TEST_PERIOD_PREFIX

HELD_OUT_PREFIX: Final = "test_"
# The measures shown for both sets of referrals (run metric suffix, label).
HEADLINE: Final = (("roc_auc", "ROC AUC"), ("average_precision", "Average precision"),
                   ("brier", "Brier score"), ("ece", "Expected calibration error"),
                   ("outcome_rate", "Outcome rate"))
WHY_HELD_OUT: Final = (
    "A referral whose family (the persons and households its referrals and household "
    "members link) was already seen in training or validation is left out of the test "
    "referrals, so that no family's outcomes both taught and judged the model. The "
    "service will score every referral, families seen before included, so the model's "
    "figures on the whole test period are shown beside them.")
# The rates of a row withheld for its small count (`withhold_small_rows`).
RATE_COLUMNS: Final = ("outcome_rate", "mean_probability")


@dataclass(frozen=True)
class EvaluatedOn:
    """The referrals behind a version's evaluation figures, and the whole test period's."""

    held_out: int | None  # test referrals: families not seen in training
    period: int | None  # every referral of the test period (None: not recorded)
    test_from: str | None
    text: str  # "test period (from ...): N referrals from families not seen in training (of M ...)"
    why: str
    # (label, on the held-out referrals, on the whole test period); None: not recorded.
    figures: tuple[tuple[str, float | None, float | None], ...]
    whole_period_recorded: bool



def _count(*values: object) -> int | None:
    for value in values:
        if (number := finite_number(value)) is not None:
            return int(number)
    return None


def _counted(n: int | None) -> str:
    return "an unrecorded number of" if n is None else f"{n:,}"


def evaluated_on(metrics: Mapping[str, float],
                 split: Mapping[str, Any] | None = None) -> EvaluatedOn:
    """From a version's run metrics and its training report's split (`Split.summary`;
    None: read the counts from the metrics alone, as `GET /v1/model` does)."""
    split = split or {}
    held_out = _count(split.get("test_referrals"), metrics.get(f"{HELD_OUT_PREFIX}n"))
    period = _count(split.get("test_period_referrals"), metrics.get(f"{TEST_PERIOD_PREFIX}n"))
    test_from = split.get("test_from")
    of = ("the test period's whole count not recorded for this version" if period is None
          else f"of {period:,} referrals in the test period")
    since = f" (from {test_from})" if test_from else ""
    text = (f"test period{since}: {_counted(held_out)} referrals from families not seen in "
            f"training ({of})")
    figures = tuple((label, finite_number(metrics.get(f"{HELD_OUT_PREFIX}{key}")),
                     finite_number(metrics.get(f"{TEST_PERIOD_PREFIX}{key}")))
                    for key, label in HEADLINE)
    return EvaluatedOn(held_out, period, test_from, text, WHY_HELD_OUT, figures,
                       whole_period_recorded=any(whole is not None for _, _, whole in figures))


def withheld_text(threshold: int) -> str:
    """What a withheld rate cell says."""
    return f"withheld: fewer than {threshold} referrals"


def withhold_small_rows(rows: Iterable[Mapping[str, Any]], threshold: int
                        ) -> tuple[dict[str, Any], ...]:
    """Rows of a rates table, those with 1 to `threshold - 1` referrals with their rates
    withheld (their count shown). A row of no referrals has no rates to withhold."""
    shown = []
    for row in rows:
        count = _count(row.get("referrals"))
        small = count is not None and 0 < count < threshold
        shown.append({key: withheld_text(threshold) if small and key in RATE_COLUMNS
                      else value for key, value in row.items()})
    return tuple(shown)
