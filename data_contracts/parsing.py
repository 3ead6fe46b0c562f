"""Vectorised parsing of string columns into the canonical dtypes.

Each parser returns the typed column and the cells that were present but could not be
parsed, as masks each with its reason (only the reasons some cell has); missing cells are
simply missing (NA/NaT/NaN). Columns with few distinct values (dates, ages) are parsed
once per distinct value.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.vocab import DATE_SHAPE, FALSE_STRINGS, TRUE_STRINGS

DATE_DTYPE: Final = "datetime64[ns]"
# Not the very first day of datetime64[ns] (1677-09-22): numpy turns that one into
# day +106751 when it converts nanoseconds to days.
_FIRST_DAY: Final = pd.Timestamp("1678-01-01")
_LAST_DAY: Final = pd.Timestamp.max.floor("D")
NOT_A_DATE: Final = "not a YYYY-MM-DD date"
HOLDS_A_TIME: Final = ("holds a time of day: a date is YYYY-MM-DD, alone or with a midnight "
                       "time (00:00:00)")
NOT_A_CALENDAR_DATE: Final = "not a real calendar date"  # 2023-02-30, 2023-13-01
NOT_A_WHOLE_NUMBER: Final = "not a whole number"
SIGNED_WHOLE_NUMBER: Final = "has a sign (+ or -): whole numbers are plain digits"
NOT_A_NUMBER: Final = "not a number"
NOT_A_BOOLEAN: Final = "not true/false/1/0"
# A coded value written with blanks around it (" police", "police\t"), as the column
# names' rule says of a header (`data_contracts.checking`): not accepted, the cause named.
PADDED_CODE: Final = ("has blanks (spaces, tabs or other white space) at either end, which "
                      "no value of its vocabulary has")
# A whole number may be written with zero decimals ("7.0"), as spreadsheets and Parquet
# floats write them; "7.5" is not one. The contract's whole numbers (an age, a decile)
# are never negative, so a sign is refused with a reason of its own: "-0" and "+7" were
# read as 0 and 7 and accepted, where a sign marks a value someone has mistyped.
_INTEGER_SHAPE: Final = r"^[0-9]{1,9}(?:\.0*)?$"
_SIGNED_INTEGER_SHAPE: Final = r"^[+-][0-9]{1,9}(?:\.0*)?$"
_NUMBER_SHAPE: Final = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
# A date written with a time of day, as a database export writes a date column: "T" or a
# space, hours and minutes, optional seconds with an optional fraction, and an optional
# zone ("Z", or an offset "+01", "+0100", "+01:00"). At midnight it is its date:
# "2024-03-22 00:00:00", "2024-03-22T00:00:00.000Z", "2024-06-22 00:00:00+01". Any other
# time means the column holds moments, not dates: refused, saying so. A Parquet timestamp
# column comes here as such text, the wall-clock time of its own zone with the offset
# (`data_contracts.reading`), so its midnights are judged here too.
_DAY: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]"
_ZONE: Final = r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
_MIDNIGHT_SHAPE: Final = _DAY + r"00:00(?::00(?:\.0+)?)?" + _ZONE
_TIMED_SHAPE: Final = _DAY + r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?" + _ZONE
# How a date's text reads, the one rule of a feed's dates (`parse_dates`, Arrow's RE2) and
# a live case's (`date_text`, Python's `re`; one date there cannot pay for Arrow): the
# first of these shapes it takes decides. Alone or with a midnight time, it is the date
# its first ten characters write; with another time of day it is refused saying so; a text
# of no shape here is no date.
_DATE_WRITINGS: Final[tuple[tuple[str, str | None], ...]] = (
    (DATE_SHAPE, None), (_MIDNIGHT_SHAPE, None), (_TIMED_SHAPE, HOLDS_A_TIME))
_DAY_LENGTH: Final = len("YYYY-MM-DD")
_COMPILED_WRITINGS: Final = tuple((re.compile(shape), reason)
                                  for shape, reason in _DATE_WRITINGS)


# Reasons with the masks of the cells that have them.
Unparsable = list[tuple[str, np.ndarray]]


def _distinct(raw: pd.Series) -> tuple[np.ndarray, pd.Series]:
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    return codes, pd.Series(uniques, dtype="string[pyarrow]")


def matches_fully(values: pd.Series, pattern: str) -> np.ndarray:
    """Mask of the cells ``pattern`` (anchored ``^...$``) matches; missing cells False.

    Arrow's RE2, where ``$`` is the end of the text, as in the service's request models
    (pydantic's regex). pandas' ``str.match`` turns to Python's ``re`` when a cell holds
    a newline, whose ``$`` also matches before a final one: the token ``P1\n`` passed
    the batch contract and was refused by the service. And scanning every cell for a
    newline cost about as long as the match.
    """
    cells = pa.array(values.astype("string[pyarrow]").array)
    return pc.match_substring_regex(cells, pattern).fill_null(False).to_numpy(zero_copy_only=False)


def _spread(codes: np.ndarray, per_unique: np.ndarray, missing: object) -> np.ndarray:
    """Values per row from values per distinct cell (code -1 is a missing cell)."""
    extended = np.append(per_unique, np.array([missing], dtype=per_unique.dtype))
    return extended[codes]  # code -1 picks the appended "missing" entry


def _unparsable(codes: np.ndarray, *reasons: tuple[str, np.ndarray]) -> Unparsable:
    """Each reason some distinct cell has, with the mask of the rows it falls on."""
    return [(reason, _spread(codes, bad, False)) for reason, bad in reasons if bad.any()]


def _date_writings(uniques: pd.Series) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Which of the distinct texts ``uniques`` read as dates (`_DATE_WRITINGS`), and the
    reasons of the others with their masks."""
    dated = np.zeros(len(uniques), dtype=bool)
    undecided = ~dated
    refused: list[tuple[str, np.ndarray]] = []
    for shape, reason in _DATE_WRITINGS:
        if not undecided.any():  # a feed's dates are usually all plain dates: one pass
            break
        taken = undecided & matches_fully(uniques, shape)
        undecided &= ~taken
        if reason is None:
            dated |= taken
        else:
            refused.append((reason, taken))
    return dated, [(NOT_A_DATE, undecided), *refused]


def parse_dates(raw: pd.Series) -> tuple[pd.Series, Unparsable]:
    """Parse ``YYYY-MM-DD`` strings, alone or with a midnight time, to datetime64[ns]; a
    date with another time of day, and one of that shape not in the calendar
    (``2023-02-30``), fail with reasons of their own (`_DATE_WRITINGS`)."""
    codes, uniques = _distinct(raw)
    dated, refused = _date_writings(uniques)
    text = uniques.str.slice(0, _DAY_LENGTH).where(dated, None).astype(object)
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    # datetime64[ns] spans 1677-2262. Dates outside are clipped to its first or last day,
    # so they fail the plausible-range rules (before 1900-01-01, after the extract date).
    parsed = parsed.where((parsed <= _LAST_DAY) | parsed.isna(), _LAST_DAY)
    parsed = parsed.where((parsed >= _FIRST_DAY) | parsed.isna(), _FIRST_DAY)
    values = parsed.astype(DATE_DTYPE).to_numpy()
    not_in_calendar = dated & parsed.isna().to_numpy()
    column = pd.Series(_spread(codes, values, np.datetime64("NaT", "ns")), index=raw.index)
    return column, _unparsable(codes, *refused, (NOT_A_CALENDAR_DATE, not_in_calendar))


def date_text(text: str) -> str:
    """The ``YYYY-MM-DD`` of one date as :func:`parse_dates` reads it (a live case's
    dates, which the service then parses), or ValueError with parse_dates' reason: the
    same `_DATE_WRITINGS`, in Python's ``re`` (about 1 microsecond, where parse_dates
    takes milliseconds for one date).

    Python's ``fullmatch`` takes what Arrow's RE2 takes: ``$`` cannot end the match
    before a final newline.
    """
    for shape, reason in _COMPILED_WRITINGS:
        if shape.fullmatch(text):
            if reason is None:
                return text[:_DAY_LENGTH]
            raise ValueError(reason)
    raise ValueError(NOT_A_DATE)


def parse_integers(raw: pd.Series) -> tuple[pd.Series, Unparsable]:
    """Parse whole numbers written in plain digits to nullable Int64; one written with a
    sign fails with a reason of its own."""
    codes, uniques = _distinct(raw)
    shaped = matches_fully(uniques, _INTEGER_SHAPE)
    signed = matches_fully(uniques, _SIGNED_INTEGER_SHAPE)
    numbers = pd.to_numeric(uniques.where(shaped, None).astype(object), errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    column = pd.Series(_spread(codes, values, np.nan), index=raw.index).astype("Int64")
    return column, _unparsable(codes, (SIGNED_WHOLE_NUMBER, signed),
                               (NOT_A_WHOLE_NUMBER, ~shaped & ~signed))


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, Unparsable]:
    """Parse finite decimal numbers to float64 (NaN when missing)."""
    codes, uniques = _distinct(raw)
    shaped = matches_fully(uniques.str.strip(), _NUMBER_SHAPE)
    numbers = pd.to_numeric(uniques.where(shaped, None).astype(object), errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | ~shaped
    column = pd.Series(_spread(codes, np.where(bad, np.nan, values), np.nan), index=raw.index)
    return column, _unparsable(codes, (NOT_A_NUMBER, bad))


def parse_codes(raw: pd.Series) -> tuple[pd.Series, Unparsable]:
    """A column of vocabulary values as it is (the schema checks its vocabulary); a value
    with blanks at either end, which no vocabulary's value has, fails with a reason of its
    own, in place of the vocabulary's."""
    codes, uniques = _distinct(raw)
    padded = (uniques != uniques.str.strip()).to_numpy(dtype=bool)
    return raw, _unparsable(codes, (PADDED_CODE, padded))


def parse_booleans(raw: pd.Series) -> tuple[pd.Series, Unparsable]:
    """Parse ``true``/``false``/``1``/``0`` (any case) to bool; missing becomes False."""
    lowered = raw.str.strip().str.lower()
    truthy = lowered.isin(sorted(TRUE_STRINGS)).to_numpy(dtype=bool)
    falsy = lowered.isin(sorted(FALSE_STRINGS)).to_numpy(dtype=bool)
    bad = raw.notna().to_numpy(dtype=bool) & ~truthy & ~falsy
    unparsable = [(NOT_A_BOOLEAN, bad)] if bad.any() else []
    return pd.Series(truthy, index=raw.index, dtype=bool), unparsable
