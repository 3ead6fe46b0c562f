"""The groups a fairness audit compares: attributes, their values, and their plain names.

The one home of the audit's groupings: age bands (the Department for Education's
bands for children, two for adults at risk), deprivation groups (pairs of IMD deciles,
1-2 the most deprived fifth of areas), and "not recorded" for a missing value. A
missing value is a group of its own, never dropped: people whose data is missing are
often the ones a model serves worst (and fairlearn refuses missing sensitive values).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from data_contracts.vocab import ETHNICITY_GROUPS, SEXES, SUBJECT_TYPES

NOT_RECORDED: Final = "not_recorded"
# (name, youngest, oldest) in whole years.
AGE_BANDS: Final[tuple[tuple[str, int, int], ...]] = (
    ("under_1", 0, 0),
    ("1_to_4", 1, 4),
    ("5_to_9", 5, 9),
    ("10_to_15", 10, 15),
    ("16_to_17", 16, 17),
    ("18_to_64", 18, 64),
    ("65_and_over", 65, 200),
)
# (name, first decile, last decile); decile 1 is the most deprived tenth of areas.
DEPRIVATION_GROUPS: Final[tuple[tuple[str, int, int], ...]] = (
    ("deciles_1_2", 1, 2),
    ("deciles_3_4", 3, 4),
    ("deciles_5_6", 5, 6),
    ("deciles_7_8", 7, 8),
    ("deciles_9_10", 9, 10),
)
DISABILITY_VALUES: Final = ("yes", "no")

# The referral columns the audit reads (beside label, probability and band).
SOURCE_COLUMNS: Final = ("sex", "ethnicity_group", "disability", "age_years", "imd_decile",
                         "subject_type")
SINGLE_ATTRIBUTES: Final[tuple[str, ...]] = (
    "sex", "ethnicity_group", "disability", "age_band", "deprivation_group", "subject_type")
INTERSECTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("ethnicity_group", "sex"), ("ethnicity_group", "disability"),
    ("ethnicity_group", "age_band"))
ATTRIBUTE_SETS: Final[tuple[tuple[str, ...], ...]] = (
    tuple((name,) for name in SINGLE_ATTRIBUTES) + INTERSECTIONS)
# Every value each attribute can take, in reading order ("not recorded" last).
VALUES: Final[dict[str, tuple[str, ...]]] = {
    "sex": (*SEXES, NOT_RECORDED),
    "ethnicity_group": (*ETHNICITY_GROUPS, NOT_RECORDED),
    "disability": (*DISABILITY_VALUES, NOT_RECORDED),
    "age_band": (*(name for name, _, _ in AGE_BANDS), NOT_RECORDED),
    "deprivation_group": (*(name for name, _, _ in DEPRIVATION_GROUPS), NOT_RECORDED),
    "subject_type": (*SUBJECT_TYPES, NOT_RECORDED),
}
ATTRIBUTE_LABELS: Final[dict[str, str]] = {
    "sex": "Sex", "ethnicity_group": "Ethnicity group", "disability": "Disability",
    "age_band": "Age band", "deprivation_group": "Deprivation (IMD deciles)",
    "subject_type": "Subject type",
}
_VALUE_LABELS: Final[dict[str, str]] = {
    NOT_RECORDED: "not recorded", "adult_at_risk": "adult at risk", "yes": "disabled",
    "no": "not disabled",
    **{name: name.replace("_", " ") for name, _, _ in AGE_BANDS},
    **{name: f"deciles {lo}-{hi}" for name, lo, hi in DEPRIVATION_GROUPS},
}


_BEFORE: Final[dict[str, dict[str, str]]] = {
    "ethnicity_group": {"asian": "Asian", "black": "Black", "white": "White"},
    "sex": {"female": "female", "male": "male"},
    "disability": {"yes": "disabled", "no": "non-disabled"},
}
_AFTER: Final[dict[str, dict[str, str]]] = {
    "ethnicity_group": {"mixed": "of mixed ethnicity", "other": "of other ethnicity",
                        "unknown": "of unknown ethnicity"},
    "sex": {"unknown": "of unknown sex"},
    "deprivation_group": {NOT_RECORDED: "with no deprivation decile recorded"},
}
_NOUNS: Final = {"child": "children", "adult_at_risk": "adults at risk"}
_ATTRIBUTE_WORDS: Final = {"ethnicity_group": "ethnicity", "deprivation_group": "deprivation",
                           "age_band": "age", "subject_type": "subject type"}


def _after(attribute: str, value: str) -> str:
    if value in _AFTER.get(attribute, {}):
        return _AFTER[attribute][value]
    if value == NOT_RECORDED:
        return f"with {_ATTRIBUTE_WORDS.get(attribute, attribute)} not recorded"
    if attribute == "age_band":
        return "aged " + value.replace("_", " ")
    if attribute == "deprivation_group":
        low, high = value.removeprefix("deciles_").split("_")
        return f"living in IMD deciles {low}-{high}"
    return value.replace("_", " ")


def group_phrase(attributes: dict[str, str]) -> str:
    """Who a group is, e.g. ``Black female subjects`` or ``White subjects aged 10 to 15``.

    A value may have spaces for its underscores (``not recorded``, as monitoring's
    coverage stored before 7 December names a missing value): it names the same group."""
    before, after, noun = [], [], "subjects"
    for attribute, spaced in attributes.items():
        value = spaced.replace(" ", "_")
        if attribute == "subject_type" and value in _NOUNS:
            noun = _NOUNS[value]
        elif value in _BEFORE.get(attribute, {}):
            before.append(_BEFORE[attribute][value])
        else:
            after.append(_after(attribute, value))
    return " ".join([*before, noun, *after])


def group_title(attributes: dict[str, str]) -> str:
    """`group_phrase` as a table row or a heading starts it: ``Disabled subjects``."""
    phrase = group_phrase(attributes)
    return phrase[:1].upper() + phrase[1:]


def stratum(attributes: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a group shares with its reference: its attribute names and the values after
    the first (an intersection's reference shares them; a single attribute's groups all
    share one reference, the largest)."""
    return tuple(attributes), tuple(attributes.values())[1:]


def value_label(value: str) -> str:
    """A group value as a table shows it, in sentence case as its neighbours: ``10 to 15``,
    ``Adult at risk``, ``Not recorded``."""
    label = _VALUE_LABELS.get(value, value.replace("_", " "))
    return label[:1].upper() + label[1:]


def _banded(values: pd.Series, bands: tuple[tuple[str, int, int], ...]) -> np.ndarray:
    number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    out = np.full(len(number), NOT_RECORDED, dtype=object)
    for name, low, high in bands:
        out[(number >= low) & (number <= high)] = name
    return out


def _category(values: pd.Series) -> np.ndarray:
    text = values.astype("string")
    return text.fillna(NOT_RECORDED).replace("", NOT_RECORDED).to_numpy(dtype=object)


def _disability(values: pd.Series) -> np.ndarray:
    flag = values.astype("boolean")
    out = np.full(len(flag), NOT_RECORDED, dtype=object)
    known = ~flag.isna().to_numpy()
    out[known] = np.where(flag.to_numpy(dtype=bool, na_value=False)[known], "yes", "no")
    return out


def attribute_frame(referrals: pd.DataFrame) -> pd.DataFrame:
    """The audit's attributes of each referral (missing -> ``not_recorded``), as strings.

    Args:
        referrals: Rows with `SOURCE_COLUMNS` (a missing column counts as not recorded).
    """
    column = {name: referrals[name] if name in referrals else pd.Series([pd.NA] * len(referrals))
              for name in SOURCE_COLUMNS}
    return pd.DataFrame({
        "sex": _category(column["sex"]),
        "ethnicity_group": _category(column["ethnicity_group"]),
        "disability": _disability(column["disability"]),
        "age_band": _banded(column["age_years"], AGE_BANDS),
        "deprivation_group": _banded(column["imd_decile"], DEPRIVATION_GROUPS),
        "subject_type": _category(column["subject_type"]),
    }, index=referrals.index)
