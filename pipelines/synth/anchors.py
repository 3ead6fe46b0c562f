"""Published English figures the synthetic extract must resemble: the one home of the anchors.

Taken from ``realism-anchors.md`` (DfE "Children in need" 2025 release and its data sets,
gov.uk "Safeguarding Adults, England 2024-25"). Only figures that map onto the feed
specification are here; ``pipelines/SYNTHETIC_DATA.md`` says how each is measured and
which published figures have no counterpart in the specification. Both the realism
report (``safeguard synth --realism-report``) and the tests read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TOLERANCE: Final = 0.20  # relative: a generated figure within 20% of the published one
PLAUSIBLE_GROUP_MIN: Final = 300  # labelled referrals per audited group at 100,000 referrals
GROUP_CHECK_REFERRALS: Final = 100_000


@dataclass(frozen=True)
class Anchor:
    """One published figure and the population it is measured on in the extract.

    Attributes:
        key: Name of the measurement in ``pipelines.synth.realism``.
        label: What the figure is, for the report.
        published: The published share (0 to 1).
        source: The published statistic and its year.
    """

    key: str
    label: str
    published: float
    source: str


CIN_2020: Final = "CIN 2020"
SOURCES_2020: Final = "DfE referral sources 2019-20"
FACTORS_2025: Final = "DfE factors at assessment 2024-25"

ANCHORS: Final[tuple[Anchor, ...]] = (
    Anchor("re_referral_12m", "re-referral within 12 months", 0.226, "DfE CIN 2024-25"),
    Anchor("source_police", "source: police", 0.287, SOURCES_2020),
    Anchor("source_education", "source: education (schools + education services)",
           0.203, SOURCES_2020),
    Anchor("source_health", "source: health", 0.150, SOURCES_2020),
    Anchor("source_social_care", "source: social care (local authority)", 0.141, SOURCES_2020),
    Anchor("source_self_or_family", "source: self or family (individual)", 0.081, SOURCES_2020),
    Anchor("source_other", "source: other (other + unknown)", 0.063, SOURCES_2020),
    Anchor("source_probation", "source: probation (other legal agency)", 0.039, SOURCES_2020),
    Anchor("source_anonymous", "source: anonymous", 0.021, SOURCES_2020),
    Anchor("source_housing", "source: housing", 0.013, SOURCES_2020),
    Anchor("outcome_section_47_substantiated",
           "section 47 substantiated (ICPC) per referral", 0.114, "DfE CIN 2024-25"),
    Anchor("outcome_child_protection_plan", "child protection plan per referral",
           0.098, "DfE CIN 2024-25"),
    Anchor("outcome_looked_after", "looked after per referral (33,050 / 632,830)",
           0.052, "DfE CLA 2023-24 / CIN 2024-25"),
    Anchor("parent_domestic_abuse", "parent domestic abuse known in the year before",
           0.317, FACTORS_2025),
    Anchor("parent_mental_health", "parent mental health known in the year before",
           0.335, FACTORS_2025),
    Anchor("parent_substance_misuse", "parent drug misuse known in the year before",
           0.141, FACTORS_2025),
    Anchor("child_domestic_abuse", "child domestic abuse known in the year before",
           0.113, FACTORS_2025),
    Anchor("child_mental_health", "child mental health known in the year before",
           0.176, FACTORS_2025),
    Anchor("child_self_harm", "child self-harm known in the year before", 0.050, FACTORS_2025),
    Anchor("child_missing", "child missing known in the year before", 0.033, FACTORS_2025),
    Anchor("child_exploitation",
           "child exploitation (CSE + CCE) in the year before", 0.056,
           FACTORS_2025),
    Anchor("sex_male", "sex: male", 0.538, CIN_2020),
    Anchor("sex_female", "sex: female", 0.442, CIN_2020),
    Anchor("sex_unborn", "unborn (age 0, sex unknown)", 0.018, CIN_2020),
    Anchor("ethnicity_white", "ethnicity (known): white", 0.717, CIN_2020),
    Anchor("ethnicity_mixed", "ethnicity (known): mixed", 0.088, CIN_2020),
    Anchor("ethnicity_black", "ethnicity (known): black", 0.086, CIN_2020),
    Anchor("ethnicity_asian", "ethnicity (known): asian", 0.074, CIN_2020),
    Anchor("ethnicity_other", "ethnicity (known): other", 0.034, CIN_2020),
    Anchor("disability", "disability", 0.126, CIN_2020),
    Anchor("age_under_1", "age under 1 (incl. unborn)", 0.15, "DfE CLA starts 2023-24"),
    Anchor("age_1_4", "age 1-4", 0.15, "DfE CLA starts 2023-24"),
    Anchor("age_5_9", "age 5-9", 0.15, "DfE CLA starts 2023-24"),
    Anchor("age_10_15", "age 10-15", 0.26, "DfE CLA starts 2023-24"),
    Anchor("age_16_17", "age 16-17", 0.29, "DfE CLA starts 2023-24"),
    Anchor("adult_s42", "adults: s42 enquiry (substantiated) per concern", 0.289,
           "Safeguarding Adults 2024-25"),
)
ANCHOR_BY_KEY: Final[dict[str, Anchor]] = {anchor.key: anchor for anchor in ANCHORS}
