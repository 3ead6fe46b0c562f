"""Checking the stored scores and decisions against the audit entries that vouch for them.

The chain (`api.audit`, `api.audit_anchor`) shows the entries are as written; this shows
the rows they vouch for are too. Every row is compared with what its entry holds of it
(`api.audit_records`), and every row that differs, has no entry, or is gone though an
entry vouches for it is named with its table, id and fields (`api.audit_record_problems`).

An entry with a record names its row: the rows (by id) and those entries (by the id
they name) are read as two ordered streams and merged, so the check is linear and holds
neither table in memory. Entries written before entries recorded their rows name none:
they, and the rows no entry names, are paired referral by referral (each entry, in
order, with the first row that agrees with all it holds; the rest in turn), and of
their rows only what those entries hold is checked: the rest is reported as unchecked.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from sqlalchemy import Connection, Select, Text, cast, select
from sqlalchemy.orm import Session

from api.audit import request_hash
from api.audit_people import PEOPLE_TABLE, with_people
from api.audit_record_problems import RecordProblem, RecordsResult
from api.audit_records import (
    DECISION_REQUEST_FIELDS,
    DECISIONS,
    RECORD,
    RECORDED,
    SCORES,
    RecordedTable,
    evidence,
)
from api.store.db import JsonText
from api.store.models import AUDIT_TABLE

STREAM_ROWS = 1000  # rows fetched at a time from each stream
Fields = dict[str, Any]  # a row or an entry, column: value


def verify_records(session: Session) -> RecordsResult:
    """Check every stored score and decision against the audit entry vouching for it."""
    connection = session.connection()
    problems: list[RecordProblem] = []
    matched: dict[str, int] = {}
    partly: dict[str, int] = {}
    for name, spec in RECORDED.items():
        check = _TableCheck(spec)
        check.run(connection)
        problems += sorted(check.problems, key=lambda problem: (
            problem.row_id is None, problem.row_id or 0, problem.entry_seq or 0))
        matched[name], partly[name] = check.matched, check.partly
    return RecordsResult(tuple(problems), matched, partly)


class _TableCheck:
    """The check of one table: rows and the entries naming them merged, then the rest
    paired referral by referral."""

    def __init__(self, spec: RecordedTable) -> None:
        self.spec = spec
        self.problems: list[RecordProblem] = []
        self.matched = self.partly = 0
        self.unlinked: dict[str, list[_Held]] = defaultdict(list)

    def run(self, connection: Connection) -> None:
        last_id, rows = None, _rows(connection, self.spec)
        if self.spec is SCORES:  # with the people each score's case named
            rows = with_people(connection, rows, orphan=lambda person: self.problems.append(
                RecordProblem(PEOPLE_TABLE, "no entry", person, None)))
        for row, entry in _merged(rows, _linked_entries(connection, self.spec)):
            if entry is None:
                self.unlinked[row["referral_id"]].append(_held_of_row(self.spec, row))
            elif row is None:
                kind = "named twice" if entry["link_id"] == last_id else "missing"
                self._problem(kind, entry["link_id"], seq=entry["seq"])
            else:
                self._compare(row, entry)
                last_id = row["id"]
        self._pair_unlinked(connection)

    def _problem(self, kind: str, row_id: int | None, *, seq: int | None, **more: Any
                 ) -> None:
        self.problems.append(RecordProblem(self.spec.table.name, kind, row_id, seq, **more))

    def _compare(self, row: Fields, entry: Fields) -> None:
        held = _held_of_entry(self.spec, entry)
        differ = [name for name, value in zip(self.spec.held, held.values, strict=True)
                  if row[name] != value]
        recorded = entry["details"][RECORD].get("fields", {})
        differ += [name for name in self.spec.recorded if name in recorded
                   and evidence(self.spec, name, value=row[name]) != recorded[name]]
        if differ:
            self._problem("differs", row["id"], seq=entry["seq"], fields=tuple(differ))
        else:
            self.matched += 1

    def _pair_unlinked(self, connection: Connection) -> None:
        entries: dict[str, list[_Held]] = defaultdict(list)
        for entry in _older_entries(connection, self.spec):
            entries[entry["referral_id"]].append(_held_of_entry(self.spec, entry))
        for referral in self.unlinked.keys() | entries.keys():
            for row_held, entry_held in _paired(self.unlinked[referral], entries[referral]):
                self._compare_held(row_held, entry_held, referral=referral)

    def _compare_held(self, row: _Held | None, entry: _Held | None, *, referral: str
                      ) -> None:
        if entry is None:
            self._problem("no entry", row.key if row else None, seq=None)
        elif row is None:
            self._problem("missing", None, seq=entry.key, referral_id=referral)
        elif row.agrees(entry):
            self.matched += 1
            self.partly += 1
        else:
            differ, maybe = _differences(self.spec, row, entry=entry)
            self._problem("differs", row.key, seq=entry.key, fields=differ, maybe=maybe)


@dataclass(frozen=True)
class _Held:
    """What every entry holds of a row, from the row or from the entry (``key``: the
    row's id, or the entry's sequence number)."""

    key: int
    values: tuple[Any, ...]
    asked: str | None  # a decision's request hash
    request: Mapping[str, Any] | None = None  # a decision row's fields as asked

    def agrees(self, other: _Held) -> bool:
        return (self.values, self.asked) == (other.values, other.asked)


def _held_of_row(spec: RecordedTable, row: Fields) -> _Held:
    values = tuple(row[name] for name in spec.held)
    if spec is not DECISIONS:
        return _Held(row["id"], values, None)
    asked = {name: row[name] for name in DECISION_REQUEST_FIELDS}
    return _Held(row["id"], values, request_hash(asked), asked)


def _held_of_entry(spec: RecordedTable, entry: Fields) -> _Held:
    details = entry["details"]
    values = tuple(details.get(where.removeprefix("details.")) if where.startswith("details.")
                   else entry[where]
                   for where in spec.held.values())
    return _Held(entry["seq"], values, entry["request_hash"] if spec is DECISIONS else None)


def _differences(spec: RecordedTable, row: _Held, *, entry: _Held
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The held fields that differ; for a decision, also the fields only its request
    hash covers, when the hash differs even with the differing held fields put back."""
    differ = tuple(name for name, mine, theirs in zip(spec.held, row.values, entry.values,
                                                      strict=True) if mine != theirs)
    if row.request is None:
        return differ, ()
    put_back = {**row.request, **{name: theirs for name, theirs in zip(
        spec.held, entry.values, strict=True) if name in row.request}}
    if request_hash(put_back) == entry.asked:
        return differ, ()
    return differ, tuple(name for name in DECISION_REQUEST_FIELDS if name not in spec.held)


def _rows(connection: Connection, spec: RecordedTable) -> Iterator[Fields]:
    """The table's rows by id; a JSON column's value as the text it stores (as its
    digest was taken)."""
    columns = [cast(column, Text).label(column.name) if column.name in spec.json_fields
               else column for column in spec.table.columns]
    for row in _stream(connection, select(*columns).order_by(spec.table.c.id)):
        for name in spec.json_fields:
            if row[name] is not None:
                row[name] = JsonText(row[name])
        yield row


_LINK = AUDIT_TABLE.c.details[(RECORD, "id")].as_integer()
_ENTRY_COLUMNS = (AUDIT_TABLE.c.seq, AUDIT_TABLE.c.referral_id, AUDIT_TABLE.c.user_name,
                  AUDIT_TABLE.c.model_version, AUDIT_TABLE.c.request_hash,
                  AUDIT_TABLE.c.details)


def _linked_entries(connection: Connection, spec: RecordedTable) -> Iterator[Fields]:
    query = (select(*_ENTRY_COLUMNS, _LINK.label("link_id"))
             .where(AUDIT_TABLE.c.action == spec.action, _LINK.is_not(None))
             .order_by(_LINK, AUDIT_TABLE.c.seq))
    return _stream(connection, query)


def _older_entries(connection: Connection, spec: RecordedTable) -> Iterator[Fields]:
    query = (select(*_ENTRY_COLUMNS)
             .where(AUDIT_TABLE.c.action == spec.action, _LINK.is_(None))
             .order_by(AUDIT_TABLE.c.seq))
    return _stream(connection, query)


def _stream(connection: Connection, query: Select[Any]) -> Iterator[Fields]:
    # An option of the query, not of the connection: that would stream (on PostgreSQL,
    # through a server-side cursor) whatever the session runs next, its inserts too.
    for row in connection.execute(query.execution_options(yield_per=STREAM_ROWS)):
        yield row._asdict()


def _merged(rows: Iterator[Fields], entries: Iterator[Fields]) -> Iterator[tuple[Any, Any]]:
    """Rows (by id) and the entries naming them (by that id): side by side, or alone
    (the other None)."""
    row, entry = next(rows, None), next(entries, None)
    while row is not None or entry is not None:
        if entry is None or (row is not None and row["id"] < entry["link_id"]):
            yield row, None
            row = next(rows, None)
        elif row is None or entry["link_id"] < row["id"]:
            yield None, entry
            entry = next(entries, None)
        else:
            yield row, entry
            row, entry = next(rows, None), next(entries, None)


def _paired(rows: list[_Held], entries: Iterable[_Held]
            ) -> Iterator[tuple[_Held | None, _Held | None]]:
    """Each entry, in order, with the first free row that agrees with it; the rows and
    entries left over, in turn."""
    free: dict[tuple[Any, ...], deque[_Held]] = defaultdict(deque)
    for row in rows:
        free[(row.values, row.asked)].append(row)
    left: list[_Held] = []
    for entry in entries:
        same = free.get((entry.values, entry.asked))
        if same:
            yield same.popleft(), entry
        else:
            left.append(entry)
    still_free = {id(row) for queue in free.values() for row in queue}
    yield from zip_longest([row for row in rows if id(row) in still_free], left)
