"""Short plain labels for features and factors: chart axes and the model card's tables.

Sentences (`model.sentences`) say what a value means for a case; a label names the
feature or factor itself, in a few words and never by its manifest name.
"""

from __future__ import annotations

from collections.abc import Sequence

from model.sentences import HOUSEHOLD_WORDS
from pipelines.manifest_lookup import UnknownFeatureError, spec_of
from pipelines.phrases import AGENCY_LABELS, FLAG_PHRASES, SHORT_RELATIONS, SHORT_WINDOWS


def _agency(agency: str) -> str:
    return AGENCY_LABELS[agency].lower()


def factor_label(names: Sequence[str]) -> str:
    """A short plain label for a factor, e.g. "arrests, child/adult" for a concern."""
    if len(names) == 1:
        return short_label(names[0])
    spec = spec_of(names[0])
    if spec.kind == "previous_referrals":
        return "earlier referrals, child/adult"
    return f"{spec.label_plural}, {SHORT_RELATIONS.get(spec.relation, spec.relation)}"


def short_label(name: str) -> str:
    """A short plain label for a chart axis, e.g. "arrests, child/adult, 12 months"."""
    spec = spec_of(name)
    whom = SHORT_RELATIONS.get(spec.relation, spec.relation)
    window = SHORT_WINDOWS.get(spec.window or "", "")
    if spec.kind == "count":
        return f"{spec.label_plural}, {whom}, {window}"
    if spec.kind == "recency":
        return f"days since {spec.label_singular or _agency(spec.agency) + ' record'}, {whom}"
    if spec.kind == "coverage":
        return f"{_agency(spec.agency)} records held"
    if spec.kind == "attendance":
        return "attendance %, child/adult" if whom == "child/adult" else (
            "lowest attendance %, other children")
    if spec.kind == "previous_referrals":
        what = "days since earlier referral" if spec.unit == "days" else "earlier referrals"
        return f"{what}, {whom}{', ' + window if spec.unit != 'days' else ''}"
    if spec.name in HOUSEHOLD_WORDS:
        return f"{HOUSEHOLD_WORDS[spec.name][1]} in household"
    if spec.name in FLAG_PHRASES:
        return FLAG_PHRASES[spec.name][0]
    return {"age_years": "age", "imd_decile_value": "deprivation decile"}[spec.name]


def known_label(name: str) -> str | None:
    """`short_label` of a feature the manifest has; None of one it no longer has (a
    model version trained on an older manifest names it in its monitoring reference)."""
    try:
        return short_label(name)
    except UnknownFeatureError:
        return None
