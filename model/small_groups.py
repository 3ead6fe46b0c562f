"""Groups too small to judge whose outcomes still stand far from the model's prediction.

The audit judges a group on at least `min_group_size` (100) labelled referrals; the
training-time audit sees the test period alone (a fifth of the referrals), so a group of
about 150 referrals in the extract has 20 to 30 there and is marked `too_small`, and the
card and the gate said nothing, even where 32.6% of such a group had the outcome against
15.4% predicted (an independent probe). A rate on 23 referrals is still a count: when
the exact (Clopper-Pearson) 95% interval of a small group's observed rate lies wholly
beyond the risk the model predicted for it, a gap that big is unlikely by chance for
that group, and the card names it with a request to audit the whole extract
(`safeguard audit fairness`) before approval. It is not a finding and fails no
threshold: among some 50 small groups, two or three may do this by chance, which the
sentence says.
The sentence gives only figures the published audit shows (`for_publication`), and names
no group whose counts it withholds (its direction would give them away).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import scipy  # scipy.stats loads on first use (`model.score_intervals` says why)

from model.fairness_flags import TOO_SMALL
from model.fairness_groups import group_phrase

LEVEL: Final = 0.95


def exact_interval(positives: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a rate of `positives` in `n`."""
    interval = scipy.stats.binomtest(positives, n).proportion_ci(confidence_level=level,
                                                                 method="exact")
    return float(interval.low), float(interval.high)


def small_groups_apart(fairness: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The groups flagged too small whose observed rate's exact interval excludes their
    mean predicted risk, from the full report (`fairness.json`, every count kept), each
    with its attributes, `direction` ("above" or "below") and `interval`."""
    out = []
    for group in fairness.get("groups", []):
        counts = group.get("counts") or {}
        n, positives = group.get("n"), counts.get("positives")
        predicted = group.get("mean_predicted")
        if TOO_SMALL not in group.get("flags", []) or not n or positives is None or (
                predicted is None):
            continue
        low, high = exact_interval(int(positives), int(n))
        if low > predicted or high < predicted:
            out.append({"attributes": dict(group["attributes"]), "interval": [low, high],
                        "direction": "above" if low > predicted else "below"})
    return out


def small_group_sentences(fairness: Mapping[str, Any] | None,
                          published: Mapping[str, Any] | None = None, *,
                          whole_extract: bool = False) -> list[str]:
    """A sentence per small group apart (`small_groups_apart`), with the figures the
    published report (`published`; default: the full one) shows of it; of an audit of the
    whole extract (`whole_extract`), without asking for one (a probe's card asked for it
    five times in the whole extract's own section)."""
    if fairness is None:
        return []
    shown = {repr(sorted(g["attributes"].items())): g
             for g in (published or fairness).get("groups", [])}
    small = sum(TOO_SMALL in g.get("flags", []) for g in fairness.get("groups", []))
    sentences = []
    for group in small_groups_apart(fairness):
        own = shown.get(repr(sorted(group["attributes"].items()))) or {}
        if not own.get("n"):  # suppressed: "above" or "below" would give its count away
            continue
        size = f"{own['n']:,} labelled referrals"
        said = (f" ({own['mean_predicted']:.1%} on average)"
                if own.get("mean_predicted") is not None else "")
        who = group_phrase(group["attributes"])
        sentences.append(
            f"{who[0].upper()}{who[1:]}: too few referrals to judge ({size}), but the outcome "
            f"rate observed among them lies {group['direction']} the risk the model "
            f"predicted for them{said} by more than chance easily gives: the exact 95% "
            "interval of the observed rate leaves the prediction out. "
            + ("This" if whole_extract else "Audit the whole extract (`safeguard audit "
               "fairness`) before approval: this")
            + " is no finding, as an exact 95% interval leaves the truth out at most one "
            "time in twenty, so "
            f"among the {small} groups too small to judge up to about "
            f"{max(1, round(small / 20))} may do this by chance.")
    return sentences
