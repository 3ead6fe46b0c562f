"""`pipelines.encode.to_days`: whole days since 1970 from any date column, `NO_DAY` when empty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.encode import NO_DAY, to_days


def _by_numpy(values: pd.Series) -> np.ndarray:
    """The days by numpy's own unit conversion (floor), the slower way to_days avoided."""
    days = values.to_numpy(dtype="datetime64[D]", na_value=np.datetime64("NaT"))
    return np.where(np.isnat(days), NO_DAY, days.astype(np.int64))


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_every_datetime_unit_gives_numpy_days_including_before_1970_and_times(unit: str) -> None:
    rng = np.random.default_rng(3)
    dates = pd.Series(pd.to_datetime(rng.integers(-30_000, 30_000, 5_000), unit="D"))
    timed = (dates + pd.to_timedelta(rng.integers(0, 86_400, 5_000), unit="s")
             ).astype(f"datetime64[{unit}]")
    timed[::9] = pd.NaT
    found = to_days(timed)
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, _by_numpy(timed))
    assert (found[::9] == NO_DAY).all()
    assert to_days(pd.Series(pd.to_datetime(["1969-12-31 23:59"])))[0] == -1


def test_text_and_zoned_dates() -> None:
    text = pd.Series(["2024-01-02", None, "not a date", "1970-01-01"])
    np.testing.assert_array_equal(to_days(text), [19_724, NO_DAY, NO_DAY, 0])
    zoned = pd.Series(pd.to_datetime(["2024-01-02 23:30"]).tz_localize("Europe/London"))
    np.testing.assert_array_equal(to_days(zoned), [19_724])
