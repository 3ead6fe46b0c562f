"""What the classifier reads: the columns of the manifest's feature table it was fitted on
(`model_columns`), as float32, with "no such record" (empty) in a constrained days-since
feature read as `pipelines.feature_spec.NO_RECORD_DAYS` (`classifier_input`). Rating
(`model.risk_model`), explanations and the monitoring reference all build it here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np

from pipelines.feature_spec import NO_RECORD_DAYS
from pipelines.manifest import FEATURE_NAMES
from pipelines.manifest_lookup import spec_of

_COLUMN: Final = {name: i for i, name in enumerate(FEATURE_NAMES)}


@lru_cache(maxsize=64)
def _no_record_columns(names: tuple[str, ...]) -> np.ndarray:
    return np.flatnonzero(no_record_flags(names))


def no_record_flags(names: tuple[str, ...]) -> np.ndarray:
    """Per feature, whether the classifier reads an empty value as `NO_RECORD_DAYS`."""
    return np.array([spec_of(name).no_record_as_days for name in names], dtype=np.bool_)


@lru_cache(maxsize=64)
def model_columns(names: tuple[str, ...]) -> np.ndarray:
    """Where the classifier's features are among the manifest's (`model_matrix`)."""
    return np.array([_COLUMN[name] for name in names], dtype=np.int64)


def classifier_input(model_matrix: np.ndarray, feature_names: tuple[str, ...]) -> np.ndarray:
    """What the classifier reads: the features as float32 (the feature table's type), with
    "no such record" (empty) in a constrained days-since feature as
    `pipelines.feature_spec.NO_RECORD_DAYS`.

    One dtype everywhere matters: SHAP and the classifier then route a value lying on a
    split threshold the same way, and contributions add up exactly.
    """
    X = np.array(model_matrix, dtype=np.float32)  # a copy, which the next lines change
    columns = _no_record_columns(tuple(feature_names))
    part = X[:, columns]
    X[:, columns] = np.where(np.isnan(part), NO_RECORD_DAYS, part)
    return X
