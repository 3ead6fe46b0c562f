"""From rated referrals to the fairness audit's files: the audit frame, the report's content.

The HTML itself is rendered by the caller's renderer (the templates live with the
service, `api/templates/reports/fairness.html`, which this layer cannot import): it is
handed `FAIRNESS_TEMPLATE` and `report_context(audit)`. Everything here is pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd

from model.fairness import FAIRNESS_HTML, FAIRNESS_JSON, LABEL, for_publication
from model.fairness_flags import RATIO_METRICS, possible_disparities
from model.fairness_groups import ATTRIBUTE_LABELS, SOURCE_COLUMNS, group_phrase, value_label
from model.fairness_metrics import METRICS
from model.fairness_multiplicity import CORRECTION
from model.fairness_recording import RECORDING, RECORDS_PREFIX, agency_records
from model.fairness_results import BEYOND_OVERALL, FairnessAudit, GroupResult
from model.fairness_summary import (
    finding_sentences,
    flag_bounds,
    possible_sentences,
    ratio_text,
)
from model.families import HOUSEHOLD, PERSON, with_families
from model.recording_report import mid_sentence, recording_context

FAIRNESS_TEMPLATE: Final = "reports/fairness.html"
# (template name, context) -> HTML; `api.templating.render_report` is one.
ReportRenderer = Callable[..., str]
FLAG_LABELS: Final = {
    "selection_disparity": "Selection disparity", "fpr_disparity": "False positive disparity",
    "tpr_disparity": "True positive disparity", "miscalibrated": "Miscalibrated",
    "too_small": "Too small to judge"}
# A disparity flag whose interval includes 1, no disparity (`GroupResult.possible`), and
# a possible miscalibration (`model.fairness_flags.judge_calibration`).
POSSIBLE_LABEL: Final = "possible: its interval includes no disparity"
POSSIBLE_GAP_LABEL: Final = ("possible: its 90% intervals leave out a gap of 0, a 95% "
                             "interval reaches inside the tolerance")
# A flag not a finding after correction for the many groups compared (`after_correction`).
CHANCE_LABEL: Final = "possible: not a finding after correction for the groups compared"


def possible_label(flag: str, *, chance: bool = False) -> str:
    """What makes a flag possible, not a finding (`GroupResult.possible`); `chance`: the
    correction for many comparisons made it so (`GroupResult.after_correction`), whatever
    its interval."""
    if chance:
        return CHANCE_LABEL
    return POSSIBLE_GAP_LABEL if flag == "miscalibrated" else POSSIBLE_LABEL


def flag_tags(group: GroupResult) -> list[dict[str, str]]:
    """Each flag of a group as a tag: its words and its kind ("finding", "possible" or
    "small"), so a possible disparity never reads as a finding."""
    kinds = {f: "small" if f == "too_small" else "possible" if f in group.possible
             else "finding" for f in group.flags}
    return [{"text": FLAG_LABELS[f] + (
        f" ({possible_label(f, chance=f in group.after_correction)})" if kind == "possible"
        else ""),
             "kind": kind} for f, kind in kinds.items()]


def audit_frame(referrals: pd.DataFrame, labels: pd.DataFrame, ratings: pd.DataFrame,
                features: pd.DataFrame | None = None, *,
                members: pd.DataFrame | None = None) -> pd.DataFrame:
    """The referrals an audit judges: rated (``probability``, ``band``) and with a label.

    Args:
        referrals: The referrals feed (its attribute columns).
        labels: ``referral_id``, ``follow_up_complete``, ``label`` (`pipelines.labels`).
        ratings: ``referral_id``, ``probability``, ``band`` (`model.score.rate_table`).
        features: The rated referrals' feature rows, for the records each agency held
            about each group (`model.fairness_recording`); None leaves that part out.
        members: Household membership: with `referrals`, it forms each referral's family
            (`model.families.with_families`), whose referrals the audit draws together.
    """
    labelled = labels.loc[labels["follow_up_complete"].to_numpy(dtype=bool),
                          ["referral_id", LABEL]]
    columns = ["referral_id",
               *(c for c in (PERSON, HOUSEHOLD, *SOURCE_COLUMNS) if c in referrals)]
    frame = (ratings[["referral_id", "probability", "band"]]
             .merge(labelled, on="referral_id", how="inner", validate="one_to_one")
             .merge(referrals[columns], on="referral_id", how="left", validate="one_to_one"))
    if features is not None:
        frame = frame.merge(agency_records(features), on="referral_id", how="left",
                            validate="one_to_one")
        records = [c for c in frame.columns if str(c).startswith(RECORDS_PREFIX)]
        missing = frame[records].isna().any(axis=1)
        if missing.any():
            raise ValueError(f"{int(missing.sum())} rated referrals have no feature row, "
                             f"e.g. {frame.loc[missing, 'referral_id'].iloc[0]!r}")
    frame = with_families(frame, referrals, members)
    return frame.assign(**{LABEL: frame[LABEL].astype(np.int64)})


def _percent(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}%"


def _interval(group: GroupResult, metric: str, *, signed: bool = False) -> str:
    pair = group.intervals[metric]
    if pair is None:
        return ""
    return f"{_percent(pair[0], signed=signed)} to {_percent(pair[1], signed=signed)}"


def _row(group: GroupResult, bounds: tuple[float, float]) -> dict[str, Any]:
    gap = group.metrics["calibration_gap"]
    return {
        "label": " / ".join(value_label(v) for v in group.attributes.values()),
        "who": group_phrase(group.attributes),
        "n": "withheld" if group.n is None else f"{group.n:,}",
        "observed": _percent(group.metrics["observed_rate"]),
        "predicted": _percent(group.metrics["mean_predicted"]),
        "gap": "-" if gap is None else f"{gap * 100:+.1f}",
        "gap_ci": _interval(group, "calibration_gap", signed=True),
        "selection": _percent(group.metrics["selection_rate"]),
        "selection_ci": _interval(group, "selection_rate"),
        "tpr": _percent(group.metrics["true_positive_rate"]),
        "fpr": _percent(group.metrics["false_positive_rate"]),
        "precision": _percent(group.metrics["precision"]),
        "auc": "-" if group.metrics["roc_auc"] is None else f"{group.metrics['roc_auc']:.3f}",
        "ratios": {m: "-" if v is None else ratio_text(v, bounds)
                   for m, v in group.ratios.items()},
        "is_reference": group.is_reference, "flags": flag_tags(group),
        "findings": list(group.findings()), "possible": list(group.possible),
        "suppressed": bool(group.suppressed),
    }


def _chart(groups: list[GroupResult], metric: str, *, centre: float | None,
           flag: str) -> dict[str, Any]:
    """Points and intervals of one metric for an interval plot, with its axis range."""
    points: list[dict[str, Any]] = []
    for g in groups:
        value, interval = g.metrics[metric], g.intervals[metric]
        if value is None or interval is None:
            continue
        points.append({"label": " / ".join(value_label(v) for v in g.attributes.values()),
                       "value": value, "low": interval[0], "high": interval[1],
                       "flagged": flag in g.findings(), "possible": flag in g.possible,
                       "small": "too_small" in g.flags})
    ends = [abs(float(p[end])) for p in points for end in ("low", "high")] or [0.1]
    if metric == "calibration_gap":
        bound = max(max(ends), 0.05)
        low, high = -bound, bound
    else:
        low, high = 0.0, min(1.0, max(max(ends) * 1.1, 0.05))
    return {"metric": metric, "points": points, "low": low, "high": high, "centre": centre}


def report_context(audit: FairnessAudit, *, publication: bool = True) -> dict[str, Any]:
    """What `FAIRNESS_TEMPLATE` shows: the audit, its findings and its charts; as
    published (`for_publication`), or with `publication=False` every figure, for the
    governance board (the page says it is not for publication)."""
    published = audit if audit.publication or not publication else for_publication(audit)
    sections = []
    for attributes in published.attributes:
        names = tuple(attributes.split("*"))
        groups = [g for g in published.groups if tuple(g.attributes) == names]
        # One reference for an attribute; an intersection's groups each have the largest
        # sharing their other values (`reference_groups`): no single line to draw.
        single = len(names) == 1
        reference = next((g for g in groups if g.is_reference), None) if single else None
        words = [mid_sentence(ATTRIBUTE_LABELS[n]) for n in names]  # "deprivation (IMD ..."
        sections.append({
            "id": "-".join(names).replace("_", "-"),
            "title": " by ".join([ATTRIBUTE_LABELS[names[0]], *words[1:]]),
            "rows": [_row(g, flag_bounds(published)) for g in groups],
            "reference": (f"{group_phrase(reference.attributes)}, the largest group"
                          if reference else "" if single else
                          f"the largest {words[0]} of the same {' and '.join(words[1:])}"),
            "charts": [
                _chart(groups, "selection_rate", flag="selection_disparity",
                       centre=reference.metrics["selection_rate"] if reference else None),
                _chart(groups, "calibration_gap", centre=0.0, flag="miscalibrated")],
        })
    return {"title": f"Fairness audit of model version {published.model_version}",
            "audit": published.document(), "sentences": finding_sentences(published),
            "possible_sentences": possible_sentences(published),
            "found_groups": len(published.with_findings()),
            "possible_groups": len(published.possible_only()),
            "sections": sections, "tolerance": published.tolerance,
            "flag_labels": FLAG_LABELS, "internal": not published.publication,
            "judged": sum("too_small" not in g.flags for g in published.groups),
            "comparisons": (published.extra.get(CORRECTION) or {}).get("comparisons"),
            "recording": (recording_context(
                published.extra[RECORDING], int(published.tolerance["suppression_threshold"]))
                if RECORDING in published.extra else None)}


def fairness_files(audit: FairnessAudit, render: ReportRenderer | None, *,
                   publication: bool = False) -> dict[str, str]:
    """``fairness.json`` and, with a renderer, ``fairness.html``: both full (the HTML
    marked as not for publication), or both in the publication form."""
    shown = for_publication(audit) if publication else audit
    files = {FAIRNESS_JSON: json.dumps(shown.document(), indent=1) + "\n"}
    if render is not None:
        files[FAIRNESS_HTML] = render(FAIRNESS_TEMPLATE,
                                      **report_context(audit, publication=publication))
    return files


def _pair_of(value: Any) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


def _possible(group: dict[str, Any]) -> tuple[str, ...]:
    """A group's possible disparities as recorded, or for an audit written before they
    were (no `possible_flags`), read from its recorded ratio intervals."""
    if "possible_flags" in group:
        return tuple(group["possible_flags"])
    return possible_disparities(tuple(group.get("flags", ())),
                                {m: _pair_of(group.get(f"{m}_ratio_ci")) for m in RATIO_METRICS})


def audit_from_document(document: dict[str, Any]) -> FairnessAudit:
    """The audit a `fairness.json` records (what `FairnessAudit.document` wrote), so that
    its report can be rendered again from the JSON logged with a version's run."""
    groups = tuple(GroupResult(
        attributes=dict(g["attributes"]), n=g.get("n"), counts=dict(g.get("counts", {})),
        metrics={name: g.get(name) for name in METRICS},
        intervals={name: _pair_of(g.get(f"{name}_ci")) for name in METRICS},
        ratios={name: g.get(f"{name}_ratio") for name in RATIO_METRICS},
        ratio_intervals={name: _pair_of(g.get(f"{name}_ratio_ci")) for name in RATIO_METRICS},
        is_reference=bool(g.get("is_reference")), flags=tuple(g.get("flags", ())),
        suppressed=tuple(g.get("suppressed", ())), possible=_possible(g),
        adjusted_p=dict(g.get("adjusted_p", {})), after_correction=tuple(g.get("chance_flags", ())),
        gap_beyond_overall=g.get(BEYOND_OVERALL),
        gap_beyond_overall_interval=_pair_of(g.get(f"{BEYOND_OVERALL}_ci")))
        for g in document.get("groups", []))
    written = {"model_version", "generated_at", "n_labelled", "reference_rule", "tolerance",
               "attributes", "publication", "groups", "summary"}
    return FairnessAudit(
        model_version=str(document["model_version"]), generated_at=str(document["generated_at"]),
        n_labelled=int(document["n_labelled"]), tolerance=dict(document.get("tolerance", {})),
        attributes=tuple(document.get("attributes", ())), groups=groups,
        publication=bool(document.get("publication")),
        extra={k: v for k, v in document.items() if k not in written})
