"""Refusal of direct identifiers, by column name and by cell content.

A feed that carries names, dates of birth, addresses, postcodes, NHS or National
Insurance numbers, phone numbers or e-mail addresses is refused as a whole
(:class:`~data_contracts.errors.FeedRejected`); it is never loaded. Which column names
name one is `data_contracts.identifier_names`'s.

Content rules match the WHOLE stripped cell, never a substring, so pseudonymous
tokens such as 64-character HMAC hex digests or ``P000123`` never trigger. A column
the specification does not name (free text, say: ignored, never loaded nor copied to a
quarantine file) is also searched for identifiers written inside its text, in shapes no
token or date takes (``lives at SW1A 1AA``, ``call 07700 900123``, ``943-476-5919``, an
e-mail address): one such cell refuses the feed, since nothing else in that column is
read. So is a specification column that takes free text (a referral id, read and
stored). Both are also read for personal names under a heading that does not say so
(`data_contracts.person_names`: `carer` holding ``Jane Smith``).

Thresholds. A column is refused when identifier-shaped cells are both *many*
(at least 3, or every non-empty cell when there are fewer than 3) and a
*meaningful share* of its non-empty cells:

* 1 % for cells that cannot be a pseudonymous token (they hold a space, ``@``,
  ``+``, ``.``, ``(``: ``943 476 5919``, ``SW1A 1AA``, ``a@b.org``,
  ``+44 7700 900123``). No legitimate token takes such a shape, so a small
  share already means the column holds identifiers.
* 20 % for token-shaped cells (``9434765919``, ``SW1A1AA``, ``07700900123``):
  a column of random 10-digit tokens passes the NHS modulus-11 check by chance
  about 9 % of the time and random 11-digit tokens look like UK phone numbers
  about 6 % of the time, whereas a real identifier column is close to 100 %.
  20 % sits well clear of both; a single NHS-like token among a million never
  refuses a feed.

For speed the shares are measured on at most :data:`CONTENT_SAMPLE_SIZE` evenly
spaced non-empty cells per column (deterministic). At a 1 % share that sample
holds about 1,000 matches, so the estimate's error is a few hundredths of a
percentage point. The patterns run once per distinct cell of the sample (a date
column holds a few thousand), each weighted by how often it occurs, and one
pattern of every shape together rules out most columns in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.errors import FeedRejected
from data_contracts.identifier_names import identifier_column_name
from data_contracts.person_names import holds_personal_names
from data_contracts.vocab import FREE_TEXT_COLUMNS, TOKEN_PATTERN

CONTENT_SAMPLE_SIZE: Final = 100_000
MIN_MATCHES: Final = 3
NON_TOKEN_SHARE: Final = 0.01
TOKEN_SHAPED_SHARE: Final = 0.20

_EMAIL: Final = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
_POSTCODE: Final = r"^(?i:GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$"
_PHONE: Final = r"^(?:\+44|0044|0)[1-9][0-9]{8,9}$"  # after removing spaces, dashes, ()
_NI_NUMBER: Final = r"^(?i:[A-CEGHJ-PR-TW-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D])$"
_NHS_SHAPE: Final = r"^(?:[0-9]{10}|[0-9]{3}[ -][0-9]{3}[ -][0-9]{4})$"
_NHS_WEIGHTS: Final = np.arange(10, 1, -1)
_PHONE_SEPARATORS: Final = r"[\s()-]"
# A cell no identifier pattern but the phone's can match (the phone's runs on cells
# without separators): one pass instead of four.
_ANY_SHAPE: Final = "|".join((_NHS_SHAPE, _EMAIL, _POSTCODE, _NI_NUMBER))
# Identifiers written inside free text, each in a shape with a separator or an '@' that
# no pseudonymous token, date or count takes.
_WRITTEN_IN_TEXT: Final = {
    "e-mail addresses": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    # Capitals, as postcodes are written: "Y9 2nd warning" is no postcode.
    "postcodes": r"\b(?:GIR 0AA|[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2})\b",
    # UK numbers of 10 or 11 digits in their usual groups: "visits 0900 1230 1700" is none.
    "phone numbers": (r"(?:\+44 ?|\b0)(?:[1-9][0-9]{3}[ -][0-9]{6}|[1-9][0-9]{2}[ -][0-9]{3}"
                      r"[ -][0-9]{4}|[1-9][0-9][ -][0-9]{4}[ -][0-9]{4})\b"),
    "NHS numbers": r"\b[0-9]{3}[ -][0-9]{3}[ -][0-9]{4}\b",
    "National Insurance numbers":
        r"(?i)\b[A-CEGHJ-PR-TW-Z]{2} [0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b",
}


def _match(cells: pa.Array, pattern: str) -> np.ndarray:
    matched = pc.match_substring_regex(cells, pattern)
    return matched.to_numpy(zero_copy_only=False).astype(bool)


def valid_nhs_numbers(cells: pa.Array) -> np.ndarray:
    """Boolean mask: the cell is a 10-digit NHS number with a valid modulus-11 check digit."""
    shaped = _match(cells, _NHS_SHAPE)
    result = np.zeros(len(cells), dtype=bool)
    if not shaped.any():
        return result
    text = pc.replace_substring_regex(cells.filter(pa.array(shaped)), "[ -]", "")
    digits = np.frombuffer("".join(text.to_pylist()).encode("ascii"), dtype=np.uint8)
    digits = (digits - ord("0")).reshape(-1, 10).astype(np.int64)
    remainder = (digits[:, :9] * _NHS_WEIGHTS).sum(axis=1) % 11
    check = (11 - remainder) % 11  # 11 -> 0; 10 stays 10, which no digit equals
    result[shaped] = check == digits[:, 9]
    return result


def identifier_cells(cells: pa.Array) -> tuple[np.ndarray, str]:
    """Mask of non-null stripped cells holding a direct identifier, and the kinds found."""
    phones = _match(pc.replace_substring_regex(cells, _PHONE_SEPARATORS, ""), _PHONE)
    if not phones.any() and not pc.any(pc.match_substring_regex(cells, _ANY_SHAPE)).as_py():
        return phones, ""
    found = {
        "NHS numbers": valid_nhs_numbers(cells),
        "e-mail addresses": _match(cells, _EMAIL),
        "postcodes": _match(cells, _POSTCODE),
        "phone numbers": phones,
        "National Insurance numbers": _match(cells, _NI_NUMBER),
    }
    mask = np.logical_or.reduce(list(found.values()))
    kinds = ", ".join(kind for kind, hits in found.items() if hits.any())
    return mask, kinds


def _sample(column: pd.Series) -> pa.Array:
    """Non-empty stripped cells, at most CONTENT_SAMPLE_SIZE of them, evenly spaced."""
    cells = pa.array(column.astype("string[pyarrow]")).drop_null()
    if len(cells) > CONTENT_SAMPLE_SIZE:
        step = len(cells) / CONTENT_SAMPLE_SIZE
        cells = _take_in_order(cells, (np.arange(CONTENT_SAMPLE_SIZE) * step).astype(np.int64))
    cells = pc.utf8_trim_whitespace(cells)
    return cells.filter(pc.not_equal(cells, ""))


def _take_in_order(cells: pa.Array | pa.ChunkedArray, positions: np.ndarray
                   ) -> pa.ChunkedArray:
    """``cells.take(positions)`` for increasing positions, taken chunk by chunk: Arrow's
    take on a chunked column first joins its chunks (a copy of every cell; a feed read
    from Parquet comes in a dozen chunks), ten times the cost of the take itself."""
    chunks = cells.chunks if isinstance(cells, pa.ChunkedArray) else [cells]
    ends = np.cumsum([len(chunk) for chunk in chunks])
    cuts = np.searchsorted(positions, ends)
    taken = [chunk.take(pa.array(positions[lo:hi] - (end - len(chunk))))
             for chunk, end, lo, hi in zip(chunks, ends, [0, *cuts[:-1]], cuts, strict=True)]
    return pa.chunked_array(taken, type=cells.type)


def _column_holds_identifiers(cells: pa.Array) -> str | None:
    """The kinds of identifier a column holds by content (its `_sample`), or None."""
    if len(cells) == 0:
        return None
    distinct = pc.value_counts(cells)  # each pattern runs once per distinct cell
    values, counts = distinct.field("values"), distinct.field("counts").to_numpy()
    # Every identifier shape holds a digit or an '@': skip enumerations and the like.
    if not pc.any(pc.match_substring_regex(values, "[0-9@]")).as_py():
        return None
    mask, kinds = identifier_cells(values)
    if not mask.any():
        return None
    token_shaped = _match(values, TOKEN_PATTERN)
    needed = min(MIN_MATCHES, len(cells))
    for shaped, share in ((token_shaped, TOKEN_SHAPED_SHARE), (~token_shaped, NON_TOKEN_SHARE)):
        hits = int(counts[mask & shaped].sum())
        if hits >= needed and hits >= share * len(cells):
            return kinds
    return None


def _text_mentions_identifiers(column: pd.Series) -> str | None:
    """The kinds of identifier written inside a free-text column's cells, or None: every
    distinct cell is searched (not a sample: one cell is enough, and it would be copied to
    the quarantine file)."""
    cells = pc.unique(pa.array(column.astype("string[pyarrow]")).drop_null())
    if len(cells) == 0 or not pc.any(pc.match_substring_regex(cells, _ANY_IN_TEXT)).as_py():
        return None
    kinds = [kind for kind, pattern in _WRITTEN_IN_TEXT.items()
             if pc.any(pc.match_substring_regex(cells, pattern)).as_py()]
    return ", ".join(kinds) or None


# Every pattern at once, to rule out a column in one pass (a column of referral ids, all
# with digits, took five: 0.11-0.15 s for 100,000 ids against 0.02-0.04 s).
_ANY_IN_TEXT: Final = "|".join(f"(?:{pattern})" for pattern in _WRITTEN_IN_TEXT.values())
_WRITTEN_IN_TEXT_RE: Final = {kind: re.compile(pattern, re.ASCII)  # \b as RE2 reads it
                               for kind, pattern in _WRITTEN_IN_TEXT.items()}


def identifiers_written_in(text: str) -> str | None:
    """The kinds of identifier written inside one free text (a case's referral id), by the
    patterns a feed's free-text column is searched with, or None."""
    kinds = [kind for kind, pattern in _WRITTEN_IN_TEXT_RE.items() if pattern.search(text)]
    return ", ".join(kinds) or None


# A yes/no flag's cells: a column of them (`email_consent`, `address_known`, `dob_known`)
# holds no identifier, whatever its name says it is about.
_FLAG_CELLS: Final = frozenset({"true", "false", "yes", "no", "y", "n", "1", "0"})


def _flags_only(column: pd.Series) -> bool:
    """Whether every cell of a column is empty (or blank, as `_sample` reads it) or a
    yes/no flag (all of them, not a sample): the specification refuses a column that holds
    identifiers, and a column so named that holds only flags, or nothing, holds none (an
    agency's `email_consent` refused its feed as 'a direct identifier')."""
    cells = pc.unique(pc.utf8_trim_whitespace(
        pa.array(column.astype("string[pyarrow]")).drop_null()))
    return len(cells) <= 4 * len(_FLAG_CELLS) and all(
        cell.lower() in _FLAG_CELLS or not cell for cell in cells.to_pylist())


def refuse_direct_identifiers(frame: pd.DataFrame, source: str,
                              contract_columns: Collection[str] = ()) -> None:
    """Raise FeedRejected when a column of ``frame`` holds direct identifiers.

    Args:
        frame: The feed as read, all cells strings (or missing).
        source: File or feed name used in the error message.
        contract_columns: The feed's columns in the specification; any other column,
            and any of them taking free text (``FREE_TEXT_COLUMNS``: a referral id), is
            also searched for identifiers written inside its text, and for names.

    Raises:
        FeedRejected: Naming the first offending column.
    """
    for column in frame.columns:
        if identifier_column_name(str(column)) and not _flags_only(frame[column]):
            raise FeedRejected(source, f"column '{column}' is a direct identifier; feed refused")
    for column in frame.columns:
        cells = _sample(frame[column])
        kinds = _column_holds_identifiers(cells)
        if not kinds and (column not in contract_columns or column in FREE_TEXT_COLUMNS):
            kinds = _text_mentions_identifiers(frame[column]) or holds_personal_names(cells)
        if kinds:
            raise FeedRejected(
                source, f"column '{column}' holds direct identifiers ({kinds}); feed refused"
            )
