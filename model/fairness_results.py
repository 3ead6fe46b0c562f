"""The fairness audit's results: each group's metrics, intervals, ratios and flags
(`GroupResult`), the audit of one model (`FairnessAudit`), and the `fairness.json` they
write (its contract in docs/fairness.md). `model.fairness` computes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from model.fairness_flags import FLAGS, RATIO_METRICS, TOO_SMALL
from model.fairness_metrics import METRICS, OVERALL

# A group's calibration gap beside the whole model's (scaled to its risk), in `fairness.json`.
BEYOND_OVERALL: Final = "calibration_gap_beyond_overall"
REFERENCE_RULE: Final = ("largest group; for an intersection, the largest group sharing "
                         "its other values")


@dataclass(frozen=True)
class GroupResult:
    """One group of one attribute (or intersection) with its metrics and flags.

    `metrics` and `intervals` are keyed by `METRICS`; None where undefined (ROC AUC of a
    group with one outcome class) or suppressed for publication (listed in `suppressed`).
    """

    attributes: dict[str, str]
    n: int | None
    counts: dict[str, int | None]
    metrics: dict[str, float | None]
    intervals: dict[str, tuple[float, float] | None]
    ratios: dict[str, float | None]
    ratio_intervals: dict[str, tuple[float, float] | None]
    is_reference: bool
    flags: tuple[str, ...]
    suppressed: tuple[str, ...] = ()
    # The flags (of `flags`) that are possible, not findings (`possible_flags`).
    possible: tuple[str, ...] = ()
    # Each flag's p-value after correction for the groups compared, and the flags of
    # `possible` put there by it alone (`model.fairness_multiplicity`).
    adjusted_p: dict[str, float] = field(default_factory=dict)
    after_correction: tuple[str, ...] = ()
    standard_errors: dict[str, float | None] = field(default_factory=dict)
    # The calibration gap beside the whole model's miscalibration scaled to the group's
    # risk (`model.fairness_metrics.gap_beside_overall`: its mean predicted times the overall
    # observed/predicted ratio, less its observed rate; earlier on 7 December, its gap less
    # the overall gap), with its interval (within each resample). A finding needs it and the
    # group's own gap wholly beyond the tolerance, on one side (None: suppressed, or an audit
    # written before 7 December).
    gap_beyond_overall: float | None = None
    gap_beyond_overall_interval: tuple[float, float] | None = None

    def findings(self) -> tuple[str, ...]:
        """The flags that are findings: every flag but too small and the possible ones."""
        return tuple(f for f in self.flags if f != TOO_SMALL and f not in self.possible)

    def document(self) -> dict[str, Any]:
        """The group as `fairness.json` writes it."""
        out: dict[str, Any] = {"attributes": dict(self.attributes), "n": self.n}
        for name in METRICS:
            interval = self.intervals[name]
            out[name] = self.metrics[name]
            out[f"{name}_ci"] = list(interval) if interval is not None else None
        out[BEYOND_OVERALL] = self.gap_beyond_overall
        out[f"{BEYOND_OVERALL}_ci"] = (None if self.gap_beyond_overall_interval is None
                                       else list(self.gap_beyond_overall_interval))
        for name in RATIO_METRICS:
            interval = self.ratio_intervals[name]
            out[f"{name}_ratio"] = self.ratios[name]
            out[f"{name}_ratio_ci"] = list(interval) if interval is not None else None
        out |= {"is_reference": self.is_reference, "flags": list(self.flags),
                "possible_flags": list(self.possible), "counts": dict(self.counts),
                "adjusted_p": dict(self.adjusted_p), "chance_flags": list(self.after_correction),
                "suppressed": list(self.suppressed)}
        return out


@dataclass(frozen=True)
class FairnessAudit:
    """The audit of one model on one set of labelled referrals."""

    model_version: str
    generated_at: str
    n_labelled: int
    tolerance: dict[str, Any]
    attributes: tuple[str, ...]
    groups: tuple[GroupResult, ...]
    publication: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def flag_counts(self) -> dict[str, int]:
        """How many groups carry each flag (every flag listed, zero included)."""
        return {flag: sum(flag in g.flags for g in self.groups) for flag in FLAGS}

    def flagged(self) -> list[GroupResult]:
        """Groups with a disparity or calibration flag, possible ones included (too small
        is not a finding)."""
        return [g for g in self.groups if set(g.flags) - {TOO_SMALL}]

    def with_findings(self) -> list[GroupResult]:
        """Groups with a finding (`GroupResult.findings`)."""
        return [g for g in self.groups if g.findings()]

    def overall_miscalibrated(self) -> bool:
        """Whether the model is miscalibrated over every referral audited (`OVERALL`)."""
        return bool((self.extra.get(OVERALL) or {}).get("miscalibrated"))

    def possible_only(self) -> list[GroupResult]:
        """Groups flagged with possible disparities only (no finding)."""
        return [g for g in self.groups if g.possible and not g.findings()]

    def possible_counts(self) -> dict[str, int]:
        """How many groups carry each flag as a possible one (not a finding)."""
        return {flag: sum(flag in g.possible for g in self.groups)
                for flag in FLAGS if flag != TOO_SMALL}

    def document(self) -> dict[str, Any]:
        """`fairness.json` (see docs/fairness.md for its contract)."""
        return {
            "model_version": self.model_version, "generated_at": self.generated_at,
            "n_labelled": self.n_labelled, "reference_rule": REFERENCE_RULE,
            "tolerance": dict(self.tolerance), "attributes": list(self.attributes),
            "publication": self.publication, **self.extra,
            "groups": [g.document() for g in self.groups],
            "summary": {"flagged_groups": len(self.flagged()), "flags": self.flag_counts(),
                        "groups_with_findings": len(self.with_findings()),
                        "overall_miscalibrated": self.overall_miscalibrated(),
                        "possible_only_groups": len(self.possible_only()),
                        "possible_flags": self.possible_counts()},
        }
