"""monitor.json names a missing characteristic as the fairness audit's JSON does:
``not_recorded`` (`model.fairness_groups.NOT_RECORDED`), in every section.

Its coverage and practice sections wrote "not recorded" until 7 December, the groups by
recent coverage and by outcome ``not_recorded``; a version's coverage stored then is
read under the new name.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from model.data import PreparedExtract
from model.fairness_groups import NOT_RECORDED, VALUES
from model.governance import MonitoringSettings
from model.monitoring import coverage_change
from model.monitoring_reference import COVERAGE_GROUPS, Population, coverage
from model.practice import practice

SETTINGS = MonitoringSettings()


def _unrecorded(prepared: PreparedExtract) -> pd.DataFrame:
    """The extract's feature rows, the first 300 with no characteristic recorded."""
    features = prepared.features.copy()
    for attribute in COVERAGE_GROUPS:
        features[attribute] = features[attribute].astype(object)
        features.loc[features.index[:300], attribute] = None
    return features


def test_coverage_and_practice_name_a_missing_value_as_the_fairness_audit(
        prepared: PreparedExtract) -> None:
    features = _unrecorded(prepared)
    by_group = coverage(features)["by_group"]
    decisions = features.assign(band="low", rag="green", practitioner_rag="green",
                                agrees_with_band=True, reason=None)
    section, _ = practice(decisions, band_names=["low"], settings=SETTINGS)
    for attribute in COVERAGE_GROUPS:
        assert by_group[attribute][NOT_RECORDED]["n"] == 300
        assert section["by_group"][attribute][NOT_RECORDED]["n"] == 300
        assert set(by_group[attribute]) <= set(VALUES[attribute])
        assert set(section["by_group"][attribute]) <= set(VALUES[attribute])


def test_coverage_stored_under_the_old_name_is_read_under_the_new(
        prepared: PreparedExtract) -> None:
    features = _unrecorded(prepared)
    stored = coverage(features)
    for groups in stored["by_group"].values():
        groups["not recorded"] = groups.pop(NOT_RECORDED)
    reference = {"coverage": copy.deepcopy(stored)}
    population = Population(features, np.ones(len(features), dtype=np.int64),
                            prepared.extract_date, prepared.extract_date)
    section, _ = coverage_change(reference, population, SETTINGS)
    for attribute in COVERAGE_GROUPS:
        assert section["training"]["by_group"][attribute][NOT_RECORDED]["n"] == 300
        assert "not recorded" not in section["training"]["by_group"][attribute]
