"""The reference referral every explanation compares with.

Contributions are measured from one reference row (interventional TreeSHAP against a
single background row), not from the average referral. The governance settings name it
(`explanation_reference`); by default (``no_records``) it is a referral
about whom no agency holds any record (no records, no earlier referrals, records held
nowhere, every days-since and attendance feature empty), whose referral details (age,
presenting need, source, household size) are the training referrals' medians. With the
manifest's monotonic constraints, a record of a concern that raises risk can then only
raise the score: the explanation never says that such a record lowers it. A board may
choose ``training_medians`` instead, a typical referral (every feature at the training
referrals' median, empty where most had none): against it, fewer records than typical
can lower the score, and its sentence says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, get_args

import numpy as np

from model.governance import ReferenceName
from model.model_matrix import classifier_input
from pipelines.manifest_lookup import spec_of

# What every explanation compares with, in one sentence per reference the governance
# settings may name (the API and the batch output carry it beside each explanation).
REFERENCE_SENTENCES: Final[dict[ReferenceName, str]] = {
    "no_records": (
        "Contributions compare this referral with a referral about whom no agency holds any "
        "record and whose details (age, presenting need, source, household) are the training "
        "referrals' medians; the base value is that reference referral's score."),
    "training_medians": (
        "Contributions compare this referral with a typical referral, whose every feature is "
        "the training referrals' median (none where most had none), so fewer records than "
        "typical can lower the score; the base value is that reference referral's score."),
}
if set(REFERENCE_SENTENCES) != set(get_args(ReferenceName)):
    raise RuntimeError("every reference the governance settings may name needs a sentence")
COMPARED_WITH: Final = REFERENCE_SENTENCES["no_records"]  # the default reference's


def reference_values(feature_names: Sequence[str], training_rows: np.ndarray,
                     name: ReferenceName = "no_records") -> dict[str, float | None]:
    """The reference's value of each feature (None: empty), from the training rows.

    ``no_records``: record features take their "no record" value from the manifest and
    referral details their median among `training_rows` (rows x `feature_names`).
    ``training_medians``: every feature its median, None where most rows have none.
    """
    values: dict[str, float | None] = {}
    for j, feature in enumerate(feature_names):
        spec = spec_of(feature)
        if name == "no_records" and spec.from_records:
            values[feature] = spec.no_record_value
            continue
        column = np.asarray(training_rows[:, j], dtype=np.float64)
        known = column[~np.isnan(column)]
        enough = len(known) and (name == "no_records" or 2 * len(known) >= len(column))
        values[feature] = float(np.median(known)) if enough else None
    return values


def reference_input(values: Mapping[str, float | None], feature_names: Sequence[str]
                    ) -> np.ndarray:
    """The reference as the classifier reads it: one row of `feature_names`.

    Raises:
        ValueError: If the reference has no value for some feature.
    """
    missing = [name for name in feature_names if name not in values]
    if missing:
        raise ValueError(f"the explanation reference lacks features {missing[:5]}")
    row = np.array([[np.nan if values[n] is None else values[n] for n in feature_names]],
                   dtype=np.float64)
    return classifier_input(row, tuple(feature_names))
