"""Row-level checking of one feed against its pandera schema, fully vectorised.

A feed goes through two steps. :func:`parse_feed` turns the all-string frame into
the schema's canonical dtypes, noting missing and unparsable cells. :func:`run_checks`
then runs every pandera check of the schema as a whole-column operation, and
:func:`feed_failures` orders the failing masks so that each bad row gets one short
reason, e.g. ``event_type: not in police vocabulary; recorded_date: before event_date``
(:mod:`data_contracts.quarantining` splits the rows once the extract date is known).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from data_contracts import parsing
from data_contracts.csv_marks import (
    ragged_row_failures,
    without_stray_marks,
    without_unclosed_marks,
)
from data_contracts.csv_reading import ROW_AS_READ
from data_contracts.csv_stray_quotes import STRAY_QUOTE_REASON
from data_contracts.errors import FeedRejected
from data_contracts.identifiers import refuse_direct_identifiers
from data_contracts.pandera_import import pa
from data_contracts.reading import STRING_DTYPE
from data_contracts.schemas import DUPLICATE_DIFFERING, DUPLICATE_ROW, UNIQUE_KEY
from data_contracts.vocab import CODED_COLUMNS, FEED_COLUMNS, OPTIONAL_COLUMNS

if TYPE_CHECKING:
    from data_contracts.quarantining import ProvisionalCheck

logger = logging.getLogger(__name__)

Parser = Callable[[pd.Series], tuple[pd.Series, parsing.Unparsable]]

# The parser of each canonical dtype (its reasons for a cell present but unparsable too).
_PARSERS: dict[str, Parser] = {
    "datetime64[ns]": parsing.parse_dates,
    "int64": parsing.parse_integers,
    "Int64": parsing.parse_integers,
    "float64": parsing.parse_numbers,
    "bool": parsing.parse_booleans,
}

Failure = tuple[str, np.ndarray]


@dataclass
class ParsedFeed:
    """A feed after parsing: raw strings, canonical columns and per-cell failures."""

    feed: str
    source: str
    raw: pd.DataFrame  # what a quarantine may show (`_quarantinable`)
    typed: pd.DataFrame
    failures: list[Failure] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    absent_columns: list[str] = field(default_factory=list)
    row_failures: list[Failure] = field(default_factory=list)  # rows unlike the header
    # the cells present but unparsable, by column (only the columns holding some)
    unparsable: dict[str, np.ndarray] = field(default_factory=dict)
    provisional: ProvisionalCheck | None = None  # once checked before the extract date is known


def _refuse_misnamed(absent: list[str], columns: pd.Index, source: str) -> None:
    """Refuse a header split by another separator than commas, or a column the
    specification names written in another case or with blanks around it (taken as an
    absent optional column, `Recorded_Date` emptied every recorded date, and records
    known only after a referral counted towards it)."""
    written = {str(c).strip().casefold(): str(c) for c in columns if c != ROW_AS_READ}
    if absent and len(written) == 1:
        [only] = written.values()
        if separator := next((sep for sep in ";\t|" if sep in only), None):
            raise FeedRejected(source, f"the header row is one column, split by "
                               f"{separator!r}: a feed's columns are separated by commas")
    for name in absent:
        if name in written:
            raise FeedRejected(source, f"column '{written[name]}' is not named as the "
                               f"specification names it ('{name}'): rename it")


def _spec_columns(feed: str, raw: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    """The specification's columns of ``raw``; optional columns may be absent (all empty)."""
    absent = [c for c in FEED_COLUMNS[feed] if c not in raw.columns]
    _refuse_misnamed(absent, raw.columns, source)
    required_absent = [c for c in absent if c not in OPTIONAL_COLUMNS[feed]]
    if required_absent:
        raise FeedRejected(source, f"required column '{required_absent[0]}' missing")
    frame = raw.reindex(columns=list(FEED_COLUMNS[feed]))
    return frame.astype(dict.fromkeys(absent, STRING_DTYPE)), absent


def parse_feed(feed: str, source: str, raw: pd.DataFrame, schema: pa.DataFrameSchema) -> ParsedFeed:
    """Refuse identifiers, check the columns, and parse to canonical dtypes.

    Raises:
        FeedRejected: Direct identifiers, or a required column missing.
    """
    raw, unclosed = without_unclosed_marks(raw)
    raw, stray = without_stray_marks(raw)
    failures = [(f"{name}: {STRAY_QUOTE_REASON}", mask) for name, mask in stray.items()]
    refuse_direct_identifiers(raw, source, FEED_COLUMNS[feed])
    spec, absent = _spec_columns(feed, raw, source)
    typed: dict[str, pd.Series] = {}
    unparsable: dict[str, np.ndarray] = dict(stray)  # a stray's cell has its one reason
    for name, column in schema.columns.items():
        cells = spec[name]
        if not column.nullable:
            failures.append((f"{name}: missing", cells.isna().to_numpy()))
        parser = parsing.parse_codes if name in CODED_COLUMNS else _PARSERS.get(str(column.dtype))
        if parser is None:
            typed[name] = cells
            continue
        typed[name], reasons = parser(cells)
        if name in stray:
            reasons = [(reason, mask & ~stray[name]) for reason, mask in reasons]
        failures.extend((f"{name}: {reason}", mask) for reason, mask in reasons)
        masks = [mask for _, mask in reasons] + ([stray[name]] if name in stray else [])
        if masks:
            unparsable[name] = np.logical_or.reduce(masks)
    ignored = [str(c) for c in raw.columns if c not in FEED_COLUMNS[feed] and c != ROW_AS_READ]
    if ignored:
        logger.warning("%s: columns not in the specification ignored (not loaded, nor copied "
                       "to the quarantine): %s", source, ignored)
    ragged = ragged_row_failures(raw, unclosed, as_read_kept=not ignored)
    # copy=False: the parsed columns are new, and the others the raw frame's, unchanged.
    return ParsedFeed(feed, source, _quarantinable(raw, feed, ignored),
                      pd.DataFrame(typed, copy=False), failures, ignored, absent, ragged,
                      unparsable)


def _quarantinable(raw: pd.DataFrame, feed: str, ignored: list[str]) -> pd.DataFrame:
    """The cells of a feed a quarantine may show: the specification's columns as read,
    and a row as read (`ROW_AS_READ`) only when the header names no other column, whose
    cells its line holds too. A column the specification does not name is never copied
    (a `carer` column's names were copied into the quarantine file of a row's bad code)."""
    kept = [c for c in raw.columns
            if c in FEED_COLUMNS[feed] or (c == ROW_AS_READ and not ignored)]
    return raw if len(kept) == len(raw.columns) else raw[kept]


def _check_output(check: pa.Check, target: pd.Series | pd.DataFrame) -> np.ndarray:
    """Per-row pass mask of one check; rows the check skipped (missing cells) pass."""
    output = check(target).check_output  # a Series: every check here gives one per row
    return output.reindex(target.index, fill_value=True).to_numpy()  # bool, or boolean: no NA


def _frame_check_output(check: pa.Check, frame: pd.DataFrame) -> np.ndarray:
    """`_check_output` of a frame-wide check: its function's per-row output, where every
    cell is missing passing when the check ignores missing values, as pandera computes
    it, without pandera's list of failure cases, which copies every failing row of the
    frame and which nothing reads (0.3 s of the validation of 100,000 referrals). A
    check of another shape goes through pandera."""
    function = getattr(check, "_check_fn", None)
    if function is None or check.element_wise or check.groupby is not None:
        return _check_output(check, frame)
    output = function(frame, **getattr(check, "_check_kwargs", {}))
    if not isinstance(output, pd.Series) or not output.index.equals(frame.index):
        return _check_output(check, frame)
    if output.empty and output.dtype != bool:
        output = output.astype(bool)
    if check.ignore_na:
        output = output | frame.isna().all(axis="columns")
    return output.reindex(frame.index, fill_value=True).to_numpy()


def _named_checks(schema: pa.DataFrameSchema) -> list[tuple[str, pa.Check, str | None]]:
    """Every check of ``schema`` in order, with its reason and the column it reads (None:
    the frame)."""
    return ([(f"{name}: {check.error}", check, name)
             for name, column in schema.columns.items() for check in column.checks]
            + [(str(check.error), check, None) for check in schema.checks])


def run_checks(schema: pa.DataFrameSchema, typed: pd.DataFrame, *,
               only: Callable[[str], bool] | None = None) -> list[Failure]:
    """Failing-row masks of every column and frame-wide check of ``schema`` (of those whose
    reason ``only`` accepts, when given)."""
    failures: list[Failure] = []
    for reason, check, column in _named_checks(schema):
        if only is not None and not only(reason):
            continue
        passing = (_frame_check_output(check, typed) if column is None
                   else _check_output(check, typed[column]))
        failures.append((reason, ~passing))
    return failures


def _judging_parsed_cells(failures: list[Failure], unparsable: dict[str, np.ndarray]
                          ) -> list[Failure]:
    """The failures of the rules, less the rows whose cell of the rule's field could not be
    parsed: that cell has its one reason already, and the rule judged the missing value the
    failed parse left (``value: abc`` of an attendance rate is not a number, not missing)."""
    if not unparsable:
        return failures
    judged = []
    for reason, mask in failures:
        cell = unparsable.get(reason.partition(":")[0])  # each names its field first
        judged.append((reason, mask if cell is None else mask & ~cell))
    return judged


def key_failures(typed: pd.DataFrame, key: str, bad: np.ndarray) -> list[Failure]:
    """The rows repeating a key, among the rows breaking no other rule (a row quarantined
    for another reason does not shadow a good copy of its key). When every row of a key
    holds the same values, the first is kept and the later ones are duplicates; when they
    differ, which row is right cannot be told, and none of them is kept."""
    candidates = np.flatnonzero(~bad & typed[key].notna().to_numpy())
    keys = typed[key].iloc[candidates]
    later = keys.duplicated(keep="first").to_numpy()
    repeated, kept_ids = candidates[later], keys[~later].to_numpy()
    kept = pd.Series(candidates[~later], index=kept_ids).loc[keys.to_numpy()[later]].to_numpy()
    left = typed.iloc[repeated].reset_index(drop=True)
    right = typed.iloc[kept].reset_index(drop=True)
    same = ((left == right).fillna(False) | (left.isna() & right.isna())).all(axis="columns")
    conflicting = keys.isin(keys.to_numpy()[later][~same.to_numpy()]).to_numpy()
    duplicate, differing = np.zeros(len(typed), bool), np.zeros(len(typed), bool)
    duplicate[candidates[later & ~conflicting]] = True
    differing[candidates[conflicting]] = True
    return [(f"{key}: {DUPLICATE_ROW}", duplicate), (f"{key}: {DUPLICATE_DIFFERING}", differing)]


def reasons_for(failures: list[Failure], n_rows: int, *, with_reasons: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """Mask of bad rows and, for each bad row, its reasons joined by ``"; "`` in rule order
    (none, an empty array, without ``with_reasons``)."""
    bad = np.zeros(n_rows, dtype=bool)
    for _, mask in failures:
        bad |= mask
    if not with_reasons:
        return bad, np.empty(0, dtype=object)
    rows = np.flatnonzero(bad)
    reasons = np.full(len(rows), "", dtype=object)
    for reason, mask in failures:
        hit = mask[rows]
        if hit.any():
            current = reasons[hit]
            reasons[hit] = np.where(current == "", reason, current + "; " + reason)
    return bad, reasons


def check_failures(parsed: ParsedFeed, schema: pa.DataFrameSchema, *,
                   only: Callable[[str], bool] | None = None) -> list[Failure]:
    """`run_checks` of a parsed feed, less the rows whose cell of a check's field could
    not be parsed (`_judging_parsed_cells`)."""
    return _judging_parsed_cells(run_checks(schema, parsed.typed, only=only), parsed.unparsable)


def feed_failures(parsed: ParsedFeed, schema: pa.DataFrameSchema,
                  rule_failures: list[Failure]) -> list[Failure]:
    """Every failure of a feed, given its rules', in the order of its rows' reasons: a row's
    shape first (its cells may be shifted), then column by column, each column's parse
    failures, checks (in the schema's order) and repeated keys in turn."""
    columns = {name: i for i, name in enumerate(schema.columns)}
    named = [reason for reason, _ in parsed.failures] + [r for r, _, _ in _named_checks(schema)]
    rank = {reason: i for i, reason in reversed(list(enumerate(named)))}

    def in_order(failures: list[Failure]) -> list[Failure]:
        return sorted(failures, key=lambda failure: (
            columns[failure[0].partition(":")[0]], rank.get(failure[0], len(rank))))

    failures = in_order(rule_failures)
    key = (schema.metadata or {}).get(UNIQUE_KEY)
    if key is not None:
        bad, _ = reasons_for(parsed.row_failures + failures, len(parsed.typed),
                             with_reasons=False)
        failures = in_order(failures + key_failures(parsed.typed, key, bad))
    return parsed.row_failures + failures
