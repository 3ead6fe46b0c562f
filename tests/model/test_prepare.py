"""An extract prepared for scoring: the feeds let go once encoded, the same features."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model.data import PreparedExtract, prepare_extract


def test_prepared_for_scoring_the_feeds_are_let_go_and_the_features_are_the_same(
        small_extract: Path, prepared: PreparedExtract) -> None:
    light = prepare_extract(small_extract, with_labels=False, keep_feeds=False)
    assert light.feeds == {} and light.labels is None
    pd.testing.assert_frame_equal(light.features, prepared.features, check_exact=True)
    assert (light.quarantined, light.extract_date) == (prepared.quarantined,
                                                       prepared.extract_date)


def test_labels_are_not_built_without_the_feeds(small_extract: Path) -> None:
    with pytest.raises(ValueError, match="labels are built from the feeds"):
        prepare_extract(small_extract, keep_feeds=False)
