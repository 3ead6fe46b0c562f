"""Hypothesis strategies shared by the explanation tests: a value each kind of feature can take."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from pipelines.manifest import SPECS_BY_NAME


def feature_value(name: str, *, max_days: int, max_count: int, percent_width: int = 64
                  ) -> st.SearchStrategy[float]:
    """Any value the feature ``name`` can take, "no record" (empty) included where it occurs."""
    spec = SPECS_BY_NAME[name]
    if spec.unit == "flag" or name.startswith("presenting_need_"):
        return st.sampled_from([0.0, 1.0])
    if spec.unit == "days":
        return st.one_of(st.just(math.nan), st.integers(0, max_days).map(float))
    if spec.unit == "percent":
        return st.one_of(st.just(math.nan), st.floats(0.0, 100.0, width=percent_width))
    if name == "age_years":
        return st.integers(0, 90).map(float)
    return st.integers(0, max_count).map(float)
