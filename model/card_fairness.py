"""The model card's fairness section: the audit's groups as its publication shows them,
and its heading figures (`model.card` builds the card around them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from model.fairness import for_publication
from model.fairness_groups import group_title
from model.fairness_report import audit_from_document, possible_label
from model.fairness_results import FairnessAudit
from model.fairness_summary import finding_sentences, flag_bounds, headline, ratio_with_interval
from model.small_groups import small_group_sentences

# A group size publication withholds: under the threshold, or one that would give such a
# count away by subtraction.
WITHHELD: Final = "withheld"


@dataclass(frozen=True)
class FairnessRow:
    """One group of the fairness report, as published (`for_publication`: None where withheld)."""

    group: str
    n: str
    observed_rate: float | None
    mean_predicted: float | None
    selection_rate: float | None
    false_positive_rate: float | None
    true_positive_rate: float | None
    selection_rate_ratio: float | None
    flags: tuple[str, ...]
    # As shown: enough digits to fall on its flag's side of each bound (`ratio_text`),
    # with its 95% interval where the audit computed one.
    selection_rate_ratio_text: str = "-"
    # The flags (of `flags`) that are possible, not findings (`GroupResult.possible`), and
    # those the correction for many comparisons made so (`GroupResult.after_correction`).
    possible: tuple[str, ...] = ()
    chance: tuple[str, ...] = ()

    def flag_text(self) -> str:
        """The flags as the card lists them, a possible one with what makes it possible."""
        return ", ".join(
            f + (f" ({possible_label(f, chance=f in self.chance)})" if f in self.possible
                 else "") for f in self.flags) or "-"


def published_audit(fairness: dict[str, Any] | None) -> FairnessAudit | None:
    """The fairness audit as published (`for_publication`); None: no audit recorded."""
    if fairness is None:
        return None
    audit = audit_from_document(fairness)
    return audit if audit.publication else for_publication(audit)


def fairness_rows(fairness: dict[str, Any] | None) -> tuple[FairnessRow, ...]:
    """The groups as the audit's publication shows them (`for_publication`): a count
    under the threshold, a count that would give one away, and every rate read from such
    a count withheld, as on the report's own page."""
    published = published_audit(fairness)
    if published is None:
        return ()
    rows = []
    for group in published.groups:
        rows.append(FairnessRow(
            group=group_title(dict(group.attributes)),
            n=WITHHELD if group.n is None else str(group.n),
            observed_rate=group.metrics["observed_rate"],
            mean_predicted=group.metrics["mean_predicted"],
            selection_rate=group.metrics["selection_rate"],
            false_positive_rate=group.metrics["false_positive_rate"],
            true_positive_rate=group.metrics["true_positive_rate"],
            selection_rate_ratio=group.ratios["selection_rate"],
            flags=group.flags, possible=group.possible, chance=group.after_correction,
            selection_rate_ratio_text="-" if group.ratios["selection_rate"] is None else
            ratio_with_interval(group.ratios["selection_rate"],
                                group.ratio_intervals["selection_rate"], flag_bounds(published))))
    return tuple(rows)


def fairness_summary(fairness: dict[str, Any] | None, *, whole_extract: bool = False
                     ) -> dict[str, Any] | None:
    """The audit's heading figures, with how many groups have a finding and how many
    possible disparities only (read from an audit written before they were recorded too),
    and its findings in words as the published report says them; `whole_extract`: the
    audit of a whole extract (`safeguard audit fairness`), which no sentence asks for."""
    if fairness is None:
        return None
    audit = audit_from_document(fairness)
    published = audit if audit.publication else for_publication(audit)
    return {**{key: fairness.get(key) for key in
               ("generated_at", "n_labelled", "reference_rule", "tolerance", "summary")},
            "groups_with_findings": len(audit.with_findings()),
            "possible_only_groups": len(audit.possible_only()), "headline": headline(audit),
            # Each finding in words (a probe's card showed its Black subjects' calibration
            # finding only as a flag in the table, the words only in the report).
            "findings": finding_sentences(published),
            # Groups too small to judge, yet far from their prediction (`model.small_groups`).
            "small_groups": small_group_sentences(fairness, published.document(),
                                                  whole_extract=whole_extract)}
