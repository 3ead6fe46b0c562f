"""What an explanation says in words: a chosen factor's record and JSON, and a case's context.

A factor's text depends only on the factor, its members' values, its direction and whom
the case is about, so it is rendered once per such key (`FactorText`) and kept per
process; a row's explanation reuses it with its own contribution. A case's context (the
agencies that held no record and the warnings about them) depends only on which agencies
held records, the presenting need and whom the case is about (`Context`), so it too is
rendered once per distinct combination.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]

import numpy as np

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from model.explanation import FactorRecord
from model.sentences import Subject, not_seen_warning

SUBJECTS: tuple[Subject, ...] = ("child", "adult", "person")


def json_text(value: object) -> str:
    """One value as ``json.dumps`` writes it (a string, None, an int or a finite float)."""
    if isinstance(value, str):
        return str(encode_basestring_ascii(value))
    return json.dumps(value)


@dataclass(frozen=True)
class FactorText:
    """What a factor says for one set of member values: its record without a contribution,
    and the same record as JSON text before and after the contribution."""

    record: FactorRecord
    json_head: str
    json_tail: str

    @classmethod
    def of(cls, record: FactorRecord) -> FactorText:
        """The texts of a record (its contribution left out), as `FactorRecord.to_dict`
        gives it to ``json.dumps``."""
        head = (f'{{"feature": {json_text(record.feature)}, "value": '
                f'{json_text(record.value)}, "contribution": ')
        tail = (f', "direction": {json_text(record.direction)}, "agency": '
                f'{json_text(record.agency)}, "sentence": {json_text(record.sentence)}, '
                f'"features": {json.dumps(list(record.features))}}}')
        return cls(record, head, tail)

    def json(self, contribution: float) -> str:
        """The record with `contribution` as JSON (``json.dumps`` of `FactorRecord.to_dict`)."""
        return f"{self.json_head}{contribution!r}{self.json_tail}"


@functools.lru_cache(maxsize=8)
def _subsets(agencies: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every subset of `agencies`, indexed by its bit mask."""
    return [tuple(a for j, a in enumerate(agencies) if mask >> j & 1)
            for mask in range(1 << len(agencies))]


@functools.lru_cache(maxsize=4096)
def warnings_for(not_seen: tuple[str, ...], usual: tuple[str, ...], need: str | None,
                 subject: Subject) -> tuple[str, ...]:
    """The "not seen" warnings: agencies that held nothing but usually matter for the need."""
    return tuple(not_seen_warning(a, need, subject) for a in not_seen
                 if a in usual and not (subject == "adult" and a == "education"))


@dataclass(frozen=True)
class Context:
    """The distinct contexts of a chunk's rows, and which one each row has."""

    not_seen: list[tuple[str, ...]]  # per distinct context, the agencies that held nothing
    warnings: list[tuple[str, ...]]  # per distinct context, the warnings about them
    index: np.ndarray  # per row, its context

    @classmethod
    def of(cls, not_seen: np.ndarray, need: np.ndarray, subject: np.ndarray,
           usual: Mapping[str, Sequence[str]]) -> Context:
        """The contexts of rows given as codes: the bit mask of the agencies (`AGENCIES`
        order) whose records-held flag is 0, the presenting need (its index in
        `PRESENTING_NEEDS`, -1 for none) and the subject (its index in `SUBJECTS`)."""
        code = (not_seen * (len(PRESENTING_NEEDS) + 1) + need + 1) * len(SUBJECTS) + subject
        distinct, index = np.unique(code, return_inverse=True)
        masks, rest = np.divmod(distinct, (len(PRESENTING_NEEDS) + 1) * len(SUBJECTS))
        needs, subjects = np.divmod(rest, len(SUBJECTS))
        table = _subsets(AGENCIES)
        seen, warnings = [], []
        for mask, n, s in zip(masks.tolist(), needs.tolist(), subjects.tolist(), strict=True):
            named = None if n == 0 else PRESENTING_NEEDS[n - 1]
            seen.append(table[mask])
            warnings.append(warnings_for(table[mask], tuple(usual.get(named or "", ())), named,
                                         SUBJECTS[s]))
        return cls(seen, warnings, index.reshape(-1))
