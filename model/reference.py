"""The reference referral every explanation compares with.

Contributions are measured from one reference row (interventional TreeSHAP against a
single background row), not from the average referral: the reference is a referral
about whom no agency holds any record (no records, no earlier referrals, records held
nowhere, every days-since and attendance feature empty), whose referral details (age,
presenting need, source, household size) are the training referrals' medians. With the
manifest's monotonic constraints, a record of a concern that raises risk can then only
raise the score: the explanation never says that such a record lowers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np

from model.risk_model import classifier_input
from pipelines.manifest_lookup import spec_of

# What every explanation compares with, in one sentence (the API and the batch output
# carry it beside each explanation).
COMPARED_WITH: Final = (
    "Contributions compare this referral with a referral about whom no agency holds any "
    "record and whose details (age, presenting need, source, household) are the training "
    "referrals' medians; the base value is that reference referral's score."
)


def reference_values(feature_names: Sequence[str], training_rows: np.ndarray
                     ) -> dict[str, float | None]:
    """The reference's value of each feature (None: empty), from the training rows.

    Record features take their "no record" value from the manifest; referral details
    take their median among `training_rows` (rows x `feature_names`).
    """
    values: dict[str, float | None] = {}
    for j, name in enumerate(feature_names):
        spec = spec_of(name)
        if spec.from_records:
            values[name] = spec.no_record_value
            continue
        column = np.asarray(training_rows[:, j], dtype=np.float64)
        known = column[~np.isnan(column)]
        values[name] = float(np.median(known)) if len(known) else None
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
