"""Validated feeds handed to Spark as integer codes: referrals, household links, records.

The driver encodes the feeds once with the single-machine engine's encoder
(`pipelines.encode.encode_frames`: identifiers to integer codes, dates to whole days
since 1970-01-01, record types to `pipelines.encode.TYPE_CODES`), so both engines read
the same codes and Spark joins and groups integers, not strings. Empty dates become nulls
(``known_day`` is ``recorded_date``, or ``event_date`` when that is empty: the
point-in-time rule, applied by the encoder). The cost: the extract is encoded on the
driver, which must hold it anyway (validation runs there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data_contracts.vocab import REFERRALS
from pipelines.encode import NO_DAY, encode_frames
from pipelines.links import _ROLE_PRIORITY, _ROLE_RELATION

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ROW: str = "_row"  # a referral's position in the referrals feed: the output's order


@dataclass(frozen=True)
class SparkFeeds:
    """The feeds the feature plan reads, as Spark DataFrames."""

    referrals: DataFrame  # the feed's columns, ROW, person, household, ref_day
    members: DataFrame  # household, person, priority (most adult lowest), relation
    records: DataFrame  # person, type, event_day, known_day, value
    history: DataFrame  # person, day: the referrals counted as earlier referrals


def _days(days: np.ndarray) -> pd.Series:
    array = pd.array(days, dtype="Int64")
    array[days == NO_DAY] = pd.NA
    return pd.Series(array)


def _code(codes: np.ndarray) -> pd.Series:
    """Codes with -1 (absent) as null."""
    array = pd.array(codes, dtype="Int64")
    array[codes < 0] = pd.NA
    return pd.Series(array)


def encoded_frames(feeds: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The feeds as pandas frames of integer codes, by `SparkFeeds` field."""
    referrals = feeds[REFERRALS].reset_index(drop=True)
    enc = encode_frames({**feeds, REFERRALS: referrals})
    frame = referrals.copy()
    frame[ROW] = np.arange(len(frame), dtype=np.int64)
    frame["_person"] = enc.ref_person
    frame["_household"] = _code(enc.ref_household)
    frame["ref_day"] = _days(enc.ref_day)
    role = enc.member_role
    return {
        "referrals": frame,
        "members": pd.DataFrame(
            {
                "_household": enc.member_household,
                "_person": enc.member_person,
                "priority": _ROLE_PRIORITY[role],
                "relation": _ROLE_RELATION[role],
            }
        ),
        "records": pd.DataFrame(
            {
                "_person": enc.event_person,
                "type": enc.event_type,
                "event_day": _days(enc.event_day),
                "known_day": _days(enc.event_known_day),
                "value": enc.event_value,
            }
        ),
        "history": pd.DataFrame(
            {"_person": _code(enc.history_person), "day": _days(enc.history_day)}
        ),
    }


_SCHEMAS = {
    "members": "_household long, _person long, priority long, relation long",
    "records": "_person long, type long, event_day long, known_day long, value double",
    "history": "_person long, day long",
}


def to_spark(spark: SparkSession, feeds: Mapping[str, pd.DataFrame]) -> SparkFeeds:
    """Hand validated feeds (canonical dtypes, `data_contracts.validate`) to Spark."""
    frames = encoded_frames(feeds)
    return SparkFeeds(
        referrals=spark.createDataFrame(frames["referrals"]),
        **{
            name: spark.createDataFrame(frames[name], schema=schema)
            for name, schema in _SCHEMAS.items()
        },
    )
