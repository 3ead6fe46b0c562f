"""Every plain-English label of the feature set, in one place.

The manifest's descriptions, the explanations' sentences, the "not seen" warnings and
the charts' short labels all read their words here (agency names are the feed
vocabulary's, `data_contracts.vocab.AGENCY_LABELS`).
"""

from __future__ import annotations

from typing import Final

from data_contracts.vocab import (
    AGENCY_LABELS,
    ETHNICITY_GROUPS,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    SEXES,
)
from pipelines.feature_spec import (
    ADULT_AT_RISK,
    ethnicity_feature_name,
    need_feature_name,
    sex_feature_name,
    source_feature_name,
)

__all__ = [
    "ADULTS_CHILDREN", "AGENCY_LABELS", "CO_SUBJECTS_TOO", "ETHNICITY_WORDS", "EVENT_LABELS",
    "FLAG_PHRASES",
    "HOUSEHOLD_PEOPLE", "NEED_PHRASES", "RELATION_PHRASES", "SHORT_RELATIONS", "SHORT_WINDOWS",
    "SOURCE_PHRASES", "SUBJECT_PHRASES", "UNNAMED_HOUSEHOLD", "WINDOW_PHRASES",
]

# Who a record is about, relative to the referral's subject.
RELATION_PHRASES: Final[dict[str, str]] = {
    "subject": "about the subject",
    "parents_carers": "involving a parent or carer in the household",
    "other_adults": "involving another adult in the household",
    "children": "involving a sibling or other child in the household",
}
SHORT_RELATIONS: Final[dict[str, str]] = {
    "subject": "child/adult", "parents_carers": "parent/carer", "other_adults": "other adult",
    "children": "other child",
}
# The person referred, as a sentence names them.
SUBJECT_PHRASES: Final[dict[str, str]] = {
    "child": "this child", "adult": "this adult", "person": "the person referred",
}
# Household members by relation: (singular, plural).
HOUSEHOLD_PEOPLE: Final[dict[str, tuple[str, str]]] = {
    "parents_carers": ("parent or carer", "parents or carers"),
    "other_adults": ("other adult", "other adults"),
    "children": ("other child", "other children"),
}
# The household's children when the person referred is an adult at risk: not "other"
# children, nor the adult's siblings (the feature counts the same people).
ADULTS_CHILDREN: Final[dict[str, str]] = {
    "relation": "involving a child in the household", "singular": "child",
    "plural": "children", "whose": "the children in the household",
}
# The words of the group the household's other members referred in their own right count
# with (`model.sentences.holds_co_subjects`), who may be of any age: (relation, singular,
# plural), in place of `RELATION_PHRASES` and `HOUSEHOLD_PEOPLE`.
CO_SUBJECTS_TOO: Final[dict[str, tuple[str, str, str]]] = {
    "children": ("involving a sibling, other child or other person referred from the household",
                 "other child or other person referred",
                 "other children or other people referred"),
    "other_adults": ("involving another adult or other person referred from the household",
                     "other adult or other person referred",
                     "other adults or other people referred"),
}
# What the warning of a rating says first when the referral names no household (the
# feed's household_id empty), or names one that household_members lists nowhere: who is
# in it, and so their records, could not be looked up
# (`model.household_sentences.UNNAMED_HOUSEHOLD_WARNING`, the one rating sentence saying it).
UNNAMED_HOUSEHOLD: Final = "No household members were named or shared for this referral"

WINDOW_PHRASES: Final[dict[str, str]] = {
    "90d": "in the last 3 months",
    "365d": "in the last 12 months",
    "ever": "on record",
}
SHORT_WINDOWS: Final[dict[str, str]] = {"90d": "3 months", "365d": "12 months", "ever": "ever"}

# Plain-English singular and plural for every event type.
EVENT_LABELS: Final[dict[str, tuple[str, str]]] = {
    "domestic_abuse_incident": (
        "police domestic-abuse incident", "police domestic-abuse incidents",
    ),
    "dash_high_risk": ("high-risk DASH assessment", "high-risk DASH assessments"),
    "missing_episode": ("missing episode", "missing episodes"),
    "arrest": ("arrest", "arrests"),
    "victim_of_crime": ("crime victimisation", "crime victimisations"),
    "exploitation_concern": ("police exploitation concern", "police exploitation concerns"),
    "antisocial_behaviour": ("antisocial-behaviour report", "antisocial-behaviour reports"),
    "online_harm_concern": ("online-harm concern", "online-harm concerns"),
    "prevent_referral": ("Prevent referral", "Prevent referrals"),
    "ae_attendance": ("A&E attendance", "A&E attendances"),
    "unexplained_injury": ("unexplained injury", "unexplained injuries"),
    "missed_appointment": ("missed health appointment", "missed health appointments"),
    "mental_health_contact": ("mental-health contact", "mental-health contacts"),
    "substance_misuse_contact": ("substance-misuse contact", "substance-misuse contacts"),
    "maternity_concern": ("maternity concern", "maternity concerns"),
    "self_harm": ("self-harm presentation", "self-harm presentations"),
    "attendance_rate": ("attendance record", "attendance records"),
    "suspension": ("school suspension", "school suspensions"),
    "permanent_exclusion": ("permanent exclusion", "permanent exclusions"),
    "sen_support": ("SEN support record", "SEN support records"),
    "ehcp": ("education, health and care plan", "education, health and care plans"),
    "free_school_meals": ("free-school-meals record", "free-school-meals records"),
    "child_missing_education": (
        "child-missing-education record", "child-missing-education records",
    ),
    "previous_referral": ("social-care referral", "social-care referrals"),
    "early_help_episode": ("early-help episode", "early-help episodes"),
    "child_in_need_plan": ("child-in-need plan", "child-in-need plans"),
    "child_protection_plan": ("child-protection plan", "child-protection plans"),
    "looked_after": ("looked-after episode", "looked-after episodes"),
    "adult_safeguarding_enquiry": (
        "adult safeguarding enquiry", "adult safeguarding enquiries",
    ),
    "care_and_support_plan": ("care and support plan", "care and support plans"),
    "homelessness_application": ("homelessness application", "homelessness applications"),
    "temporary_accommodation": (
        "temporary-accommodation placement", "temporary-accommodation placements",
    ),
    "eviction_notice": ("eviction notice", "eviction notices"),
    "rent_arrears": ("rent-arrears record", "rent-arrears records"),
    "overcrowding": ("overcrowding record", "overcrowding records"),
    "under_supervision": ("probation supervision record", "probation supervision records"),
    "mappa_nominal": ("MAPPA nominal record", "MAPPA nominal records"),
    "domestic_abuse_perpetrator_programme": (
        "domestic-abuse perpetrator programme", "domestic-abuse perpetrator programmes",
    ),
}

NEED_PHRASES: Final[dict[str, str]] = {
    "abuse_neglect": "abuse or neglect", "domestic_abuse": "domestic abuse",
    "mental_health": "mental health", "substance_misuse": "substance misuse",
    "exploitation": "exploitation", "radicalisation": "radicalisation",
    "online_harm": "online harm", "other": "other",
}
# Who made a referral, as "Referred {phrase}".
SOURCE_PHRASES: Final[dict[str, str]] = {
    "police": "by the police", "health": "by a health service",
    "education": "by a school or education service", "social_care": "by social care",
    "housing": "by a housing service", "probation": "by the probation service",
    "self_or_family": "by the person or their family", "anonymous": "anonymously",
    "other": "by another kind of source",
}
ETHNICITY_WORDS: Final[dict[str, str]] = {
    "asian": "Asian", "black": "Black", "mixed": "Mixed", "white": "White", "other": "'Other'",
}


def _flag_phrases() -> dict[str, tuple[str, str, str]]:
    """(when 1, when 0, when missing) for every yes/no feature outside the agency records."""
    phrases = {
        "household_known": ("The household's members were shared",
                            "The household's members are not known",  # the warning says why
                            "Not known whether the household's members were shared"),
        ADULT_AT_RISK: ("The person referred is an adult at risk",
                        "The person referred is a child",
                        "Not recorded whether the person referred is a child"),
        "disability_recorded": ("A disability is recorded", "No disability recorded",
                                "Not known whether a disability is recorded"),
        "sex_unknown": ("Sex not recorded", "Sex recorded", "Not known whether sex is recorded"),
        "ethnicity_unknown": ("Ethnic group not recorded", "Ethnic group recorded",
                              "Not known whether the ethnic group is recorded"),
    }
    for need in PRESENTING_NEEDS:
        words = NEED_PHRASES[need]
        yes, no = ((f"The presenting need is {words}", f"The presenting need is not {words}")
                   if need != "other" else
                   ("The presenting need is outside the named categories",
                    "The presenting need is one of the named categories"))
        phrases[need_feature_name(need)] = (yes, no, "The presenting need is not recorded")
    for source in REFERRAL_SOURCES:
        words = SOURCE_PHRASES[source]
        phrases[source_feature_name(source)] = (f"Referred {words}", f"Not referred {words}",
                                                "Who made the referral is not recorded")
    for sex in SEXES:
        if sex != "unknown":
            phrases[sex_feature_name(sex)] = (f"Recorded sex is {sex}",
                                              f"Recorded sex is not {sex}", "Sex not known")
    for group in ETHNICITY_GROUPS:
        if group != "unknown":
            words = ETHNICITY_WORDS[group]
            phrases[ethnicity_feature_name(group)] = (f"Recorded ethnic group is {words}",
                                             f"Recorded ethnic group is not {words}",
                                             "Ethnic group not known")
    return phrases


# (when 1, when 0, when missing) of every yes/no feature outside the agency records.
FLAG_PHRASES: Final = _flag_phrases()
