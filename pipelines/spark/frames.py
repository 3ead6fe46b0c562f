"""Validated feed frames handed to Spark: referrals, household members, agency records.

Dates travel as whole days since 1970-01-01 (`pipelines.encode.to_days`, empty as null),
so day arithmetic on Spark is integer arithmetic with no time zone in it; ``known_day``
is ``recorded_date``, or ``event_date`` when that is empty (the point-in-time rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES, HOUSEHOLD_MEMBERS, REFERRALS, event_feed
from pipelines.encode import NO_DAY, to_days

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

ROW: str = "_row"  # a referral's position in the referrals feed: the output's order


@dataclass(frozen=True)
class SparkFeeds:
    """The feeds the feature plan reads, as Spark DataFrames."""

    referrals: DataFrame
    members: DataFrame
    records: DataFrame


def _days(values: pd.Series) -> pd.Series:
    days = to_days(values)
    array = pd.array(days, dtype="Int64")
    array[days == NO_DAY] = pd.NA
    return pd.Series(array)


def referral_frame(referrals: pd.DataFrame) -> pd.DataFrame:
    """The referrals feed with its row number and its date in days."""
    frame = referrals.reset_index(drop=True)
    frame[ROW] = np.arange(len(frame), dtype=np.int64)
    frame["ref_day"] = _days(frame["referral_date"])
    return frame


def record_frame(feeds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every agency's records in one frame, with ``agency``, ``event_day`` and ``known_day``."""
    parts = []
    for agency in AGENCIES:
        frame = feeds.get(event_feed(agency))
        if frame is None or not len(frame):
            continue
        event_day = _days(frame["event_date"])
        recorded = _days(frame["recorded_date"])
        parts.append(
            pd.DataFrame(
                {
                    "person_id": frame["person_id"].astype("string").to_numpy(),
                    "agency": agency,
                    "event_type": frame["event_type"].astype("string").to_numpy(),
                    "event_day": event_day.to_numpy(),
                    "known_day": recorded.fillna(event_day).to_numpy(),
                    "value": pd.to_numeric(frame["value"], errors="coerce").to_numpy(np.float64),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "person_id": pd.Series(dtype="string"),
                "agency": pd.Series(dtype="string"),
                "event_type": pd.Series(dtype="string"),
                "event_day": pd.Series(dtype="Int64"),
                "known_day": pd.Series(dtype="Int64"),
                "value": pd.Series(dtype="float64"),
            }
        )
    return pd.concat(parts, ignore_index=True)


def member_frame(feeds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Household members (empty when the feed is absent)."""
    members = feeds.get(HOUSEHOLD_MEMBERS)
    if members is None or not len(members):
        return pd.DataFrame(
            {name: pd.Series(dtype="string") for name in ("household_id", "person_id", "role")}
        )
    return members[["household_id", "person_id", "role"]].astype("string")


_SCHEMAS = {
    "members": "household_id string, person_id string, role string",
    "records": "person_id string, agency string, event_type string, event_day long, "
    "known_day long, value double",
}


def _arrow_schema(frame: pd.DataFrame) -> StructType:
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(pa.Schema.from_pandas(frame, preserve_index=False))


def to_spark(spark: SparkSession, feeds: Mapping[str, pd.DataFrame]) -> SparkFeeds:
    """Hand validated feeds (canonical dtypes, `data_contracts.validate`) to Spark."""
    frame = referral_frame(feeds[REFERRALS])
    # Spark infers a schema from the rows; with none (every referral quarantined) it is
    # read from the frame's Arrow types, so the result is an empty table, not an error.
    referrals = (spark.createDataFrame(frame) if len(frame)
                 else spark.createDataFrame(frame, schema=_arrow_schema(frame)))
    members = spark.createDataFrame(member_frame(feeds), schema=_SCHEMAS["members"])
    records = spark.createDataFrame(record_frame(feeds), schema=_SCHEMAS["records"])
    return SparkFeeds(referrals, members, records)
