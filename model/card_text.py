"""The model card's fixed words: its ATRS headings, the uses it must never be put to, the
outcome it predicts and its known limitations (`model.card` fills in the rest)."""

from __future__ import annotations

from typing import Final

from data_contracts.vocab import LABEL_WINDOW_DAYS, OUTCOME_TYPES

# What the model is for and what it cannot do, as the card and the scorer's description
# (`model.service`) both say it.
INTENDED_USE: Final = (
    "Decision support for multi-agency safeguarding hub (MASH) triage: a calibrated estimate "
    "of the chance that a referral leads to a safeguarding outcome within 365 days, explained "
    "by agency, to help practitioners prioritise checks. The practitioner decides."
)
LIMITATIONS: Final = (
    "Trained on past referrals and outcomes, which reflect past recording and past decisions; "
    "it sees only what agencies shared (agencies not seen are listed for every case); it does "
    "not assess immediate danger reported in the referral text; scores are relative to the "
    "training referrals; it must not be the sole basis for any decision."
)
# The ATRS (v3) sections, in order: the card uses these exact headings.
ATRS_HEADINGS: Final = (
    "Tier 1 - Overview",
    "Tier 2 - Owner and Responsibility",
    "Tier 2 - Description and Rationale",
    "Tier 2 - Decision-Making Process",
    "Tier 2 - Tool Specification",
    "Tier 2 - Risks, Mitigations and Impact Assessments",
)
# Who built the model. Until 7 December "trained in house on the authority's own extract",
# which a probe read on a version trained on a synthetic extract: nothing recorded with a
# version tells the authority's records from synthetic ones, so the card does not claim it.
DEVELOPER: Final = (
    "safeguard-risk (open source). This version was trained with `safeguard train` on the "
    "extract the Tool Specification describes; whether that extract holds the authority's "
    "own records or synthetic ones is not recorded with the version (to be completed by the "
    "publishing authority)")
MISUSE: Final = (
    "It is never an automated decision: a practitioner reads the referral, decides and "
    "records the decision and its reasons.",
    "It is never used to decide eligibility for a service or support.",
    "It is never used for enforcement, investigation or any sanction against a person.",
    "It is not a measure of immediate danger: what the referral itself says comes first.",
)
OUTCOME_DEFINITION: Final = (
    f"Any recorded safeguarding outcome ({', '.join(t.replace('_', ' ') for t in OUTCOME_TYPES)})"
    f" within {LABEL_WINDOW_DAYS} days after the referral date. Referrals whose "
    f"{LABEL_WINDOW_DAYS}-day follow-up is not complete at the extract date are left out of "
    "training and evaluation, never counted as negatives.")
KNOWN_LIMITATIONS: Final = (
    "The outcome is a proxy recorded by services: it measures what services did, not the "
    "harm a child suffered, and it inherits their thresholds and practice.",
    "Agencies that share little make scores less reliable: a child unknown to an agency "
    "that did not share looks like a child without concerns.",
    "Recording bias: groups that are recorded more (or less) often by an agency get scores "
    "that carry that difference. The fairness audit measures it (each group's records per referral "
    "by agency, beside its calibration); it does not remove it.",
    LIMITATIONS,
)
