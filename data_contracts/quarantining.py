"""Splitting a parsed feed into accepted and quarantined rows, once the extract date is known.

When the extract date is not given, it comes from the rows that break no rule, which
each feed's checks tell: :func:`check_provisionally` checks a feed with today as its
extract date and keeps the failures of the rules whose outcome cannot change with the
date, so that :func:`check_feed` then checks only the rules that can (a date after the
extract date, an outcome's referral). The rules are run once either way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_contracts.checking import Failure, ParsedFeed, check_failures, feed_failures, reasons_for
from data_contracts.pandera_import import pa
from data_contracts.reading import STRING_DTYPE
from data_contracts.schemas import is_date_after_extract, turns_on_extract_date


@dataclass(frozen=True)
class ProvisionalCheck:
    """A feed checked with today as its extract date, before that date is known
    (`check_provisionally`): what `check_feed` reuses once it is. Each failure is kept as
    its rows' numbers, not a mask of every row: few rows fail, and the masks of every
    feed would otherwise be held at once."""

    steady: list[tuple[str, np.ndarray]]  # the failing rules that cannot turn on the date
    # every failure, in reason order, when no rule that turns on the extract date failed
    failures: list[tuple[str, np.ndarray]] | None

    @staticmethod
    def keep(failures: list[Failure]) -> list[tuple[str, np.ndarray]]:
        return [(reason, np.flatnonzero(mask)) for reason, mask in failures if mask.any()]

    @staticmethod
    def masks(kept: list[tuple[str, np.ndarray]], n_rows: int) -> list[Failure]:
        failures = []
        for reason, rows in kept:
            mask = np.zeros(n_rows, dtype=bool)
            mask[rows] = True
            failures.append((reason, mask))
        return failures


def check_provisionally(parsed: ParsedFeed, schema: pa.DataFrameSchema) -> np.ndarray:
    """Check a feed against ``schema``, built with today as the extract date, before that
    date is known, and keep on ``parsed`` what `check_feed` can reuse once it is.

    Returns:
        The mask of the rows that break no rule.
    """
    rule_failures = parsed.failures + check_failures(parsed, schema)
    failures = feed_failures(parsed, schema, rule_failures)
    dated = any(turns_on_extract_date(reason) and mask.any() for reason, mask in failures)
    steady = [f for f in rule_failures if not turns_on_extract_date(f[0])]
    parsed.provisional = ProvisionalCheck(ProvisionalCheck.keep(steady),
                                          None if dated else ProvisionalCheck.keep(failures))
    bad, _ = reasons_for(failures, len(parsed.typed), with_reasons=False)
    return ~bad


def _holds_date_after(typed: pd.DataFrame, extract_date: dt.date) -> bool:
    limit = pd.Timestamp(extract_date)
    return any(typed[name].max() > limit for name in typed.columns
               if pd.api.types.is_datetime64_dtype(typed[name]))  # max: NaT skipped


def _final_failures(parsed: ParsedFeed, schema: pa.DataFrameSchema,
                    extract_date: dt.date | None) -> list[Failure]:
    """Every failure of a feed against ``schema``: after `check_provisionally`, only the
    rules that turn on the extract date are checked again, and those of a date after it
    only when the feed holds such a date."""
    provisional = parsed.provisional
    if provisional is None:
        return feed_failures(parsed, schema, parsed.failures + check_failures(parsed, schema))
    if extract_date is None or _holds_date_after(parsed.typed, extract_date):
        only = turns_on_extract_date
    else:
        def only(reason: str) -> bool:
            return turns_on_extract_date(reason) and not is_date_after_extract(reason)
    dated = [f for f in check_failures(parsed, schema, only=only) if f[1].any()]
    n_rows = len(parsed.typed)
    if not dated and provisional.failures is not None:
        return ProvisionalCheck.masks(provisional.failures, n_rows)
    steady = ProvisionalCheck.masks(provisional.steady, n_rows)
    return feed_failures(parsed, schema, steady + dated)


def _rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` where ``keep`` holds, numbered from 0. Column by column, so
    an Arrow column is filtered by the mask: ``frame.loc[keep]`` gathers it row by row.
    The filtered columns are new arrays, taken as they are (``copy=False``): copying
    stacked the date and number columns into one block, a second copy of each."""
    columns = {name: frame[name].array[keep] for name in frame.columns}
    return pd.DataFrame(columns, index=pd.RangeIndex(int(keep.sum())), copy=False)


def check_feed(parsed: ParsedFeed, schema: pa.DataFrameSchema, *,
               extract_date: dt.date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a parsed feed into accepted rows (canonical dtypes) and quarantined rows.

    Args:
        parsed: The feed, parsed (and maybe checked provisionally).
        schema: Its schema, built with the extract date.
        extract_date: The schema's extract date (after `check_provisionally`, the checks
            of a date after it are skipped when the feed holds none).

    Returns:
        The accepted frame and the quarantine frame (raw strings plus ``reason``).
    """
    bad, reasons = reasons_for(_final_failures(parsed, schema, extract_date), len(parsed.typed))
    accepted = _rows(parsed.typed, ~bad)
    for name, column in schema.columns.items():
        if str(column.dtype) == "int64":
            accepted[name] = accepted[name].astype("int64")
    quarantine = _rows(parsed.raw, bad)  # the rows of `reasons`, in order
    quarantine["reason"] = pd.Series(reasons, dtype=STRING_DTYPE)
    return accepted, quarantine
