"""What the audit entry of a score or a decision holds of the row it vouches for.

An entry of action ``score`` vouches for the score row stored in its transaction, one
of action ``decision`` for the decision. Such entries always held part of their row:
the referral, the user and the model version as columns, and in ``details`` a score's
score, band and RAG, or a decision's RAG and ``agrees`` (`RecordedTable.held`); a
decision's ``request_hash`` is moreover the hash of the decision as asked
(`DECISION_REQUEST_FIELDS`). Entries written since also carry ``details["record"]``:
the row's table and id, and each of its other fields (`RecordedTable.recorded`) as
stored, plainly where it says nothing about a person (ids, times, the probability, the
model's name), as ``sha256:`` of its JSON where it is free text, the presenting need or
the result. `api.audit_records_check` compares the stored rows with all of this.

The entries are added here, inside the audit append (`api.audit`), from the rows the
same transaction writes: the n-th entry of a table's action vouches for the n-th row
written to that table, and names its referral.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import JSON, Connection, Table, insert
from sqlalchemy.orm import Session

from api.audit_people import PEOPLE_FIELD, people_list, people_of_scores
from api.store.db import JsonText
from api.store.models import SCORE_TABLE, Decision, as_utc

if TYPE_CHECKING:
    from api.audit import AuditEvent

RECORD = "record"  # the key of ``details`` that holds the row's record
Rows = Mapping[str, Sequence[Mapping[str, Any]]]  # table name: rows written, with their ids


@dataclass(frozen=True)
class RecordedTable:
    """A table whose rows audit entries vouch for, and what an entry holds of each row."""

    table: Table
    action: str
    # Row field: where every entry holds it (an entry column, or "details.<key>").
    held: Mapping[str, str]
    # The fields ``details["record"]`` holds, and which of them only as a digest.
    recorded: tuple[str, ...]
    digested: frozenset[str]

    @cached_property
    def json_fields(self) -> frozenset[str]:
        """The JSON columns (digested as the text they store)."""
        return frozenset(column.name for column in self.table.columns
                         if isinstance(column.type, JSON))


SCORES = RecordedTable(
    SCORE_TABLE, "score",
    held={"referral_id": "referral_id", "model_version": "model_version",
          "user_name": "user_name", "score": "details.score", "band": "details.band",
          "rag": "details.rag"},
    recorded=("model_name", "probability", "presenting_need", "result", "created_at",
              PEOPLE_FIELD),
    digested=frozenset({"presenting_need", "result", PEOPLE_FIELD}),
)
DECISIONS = RecordedTable(
    cast(Table, Decision.__table__), "decision",
    held={"referral_id": "referral_id", "practitioner": "user_name",
          "practitioner_rag": "details.rag", "agrees_with_band": "details.agrees"},
    recorded=("score_id", "next_step", "reason", "previous_decision_id", "created_at"),
    digested=frozenset({"next_step", "reason"}),
)
RECORDED = {spec.table.name: spec for spec in (SCORES, DECISIONS)}
# What a decision's request_hash covers: the decision as asked (`api.schemas.DecisionIn`
# when the entries without a record were written).
DECISION_REQUEST_FIELDS = ("referral_id", "practitioner_rag", "next_step",
                           "agrees_with_band", "reason", "previous_decision_id")

# Built once: the scoring path inserts with every request.
_INSERT = {name: insert(spec.table) for name, spec in RECORDED.items()}
_INSERT_RETURNING_ID = {
    name: statement.returning(RECORDED[name].table.c.id, sort_by_parameter_order=True)
    for name, statement in _INSERT.items()
}


_TEXT_JSON = json.JSONEncoder(ensure_ascii=False).encode  # a text field's JSON


def stored_json(value: Any) -> str:
    """The text a JSON column stores for ``value``: as the store's engines serialise it
    (`api.store.db`: `JsonText` as it is, anything else `json.dumps`)."""
    return str.__str__(value) if isinstance(value, JsonText) else json.dumps(value)


def evidence(spec: RecordedTable, field: str, *, value: Any) -> Any:
    """What an entry's record holds of one stored field: the value (a time in UTC, ISO
    8601), or ``sha256:`` and the hex SHA-256 of its JSON (a JSON column's stored text)."""
    if field in spec.digested:
        text = stored_json(value) if field in spec.json_fields else _TEXT_JSON(value)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if isinstance(value, datetime):
        return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds")
    return value


def record_of(spec: RecordedTable, row: Mapping[str, Any]) -> dict[str, Any]:
    """The record of a row as written (a field the row does not give is not recorded)."""
    fields = {field: evidence(spec, field, value=row[field]) for field in spec.recorded
              if field in row}
    return {"table": spec.table.name, "id": row["id"], "fields": fields}


def insert_rows(connection: Connection, table: Table, *, rows: Sequence[Mapping[str, Any]]
                ) -> dict[str, list[Mapping[str, Any]]]:
    """Insert ``rows``; for a table entries vouch for, return them with their ids."""
    statement = _INSERT_RETURNING_ID.get(table.name)
    if statement is None:  # a score's people among them, which its entry records
        connection.execute(insert(table), list(rows))
        return {table.name: list(rows)}
    if len(rows) == 1:  # its id comes back unasked (SQLite's lastrowid, PostgreSQL's RETURNING)
        inserted = connection.execute(_INSERT[table.name], rows[0]).inserted_primary_key
        return {table.name: [{**rows[0], "id": inserted[0] if inserted else None}]}
    ids = connection.execute(statement, list(rows)).scalars().all()
    return {table.name: [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)]}


def flush_records(session: Session) -> dict[str, list[Mapping[str, Any]]]:
    """Flush the session; return the rows of vouched-for tables it inserted, with ids."""
    pending = [obj for obj in session.new if getattr(obj, "__tablename__", None) in RECORDED]
    session.flush()
    written: dict[str, list[Mapping[str, Any]]] = {}
    for obj in sorted(pending, key=lambda obj: obj.id):
        table = RECORDED[obj.__tablename__].table
        written.setdefault(table.name, []).append(
            {column.name: getattr(obj, column.key) for column in table.columns})
    return written


def with_records(events: Sequence[AuditEvent], written: Rows) -> list[AuditEvent]:
    """``events``, each of a vouching action carrying the record of its row.

    Raises:
        ValueError: The rows written to a table and the entries of its action do not
            pair off one to one, referral to referral (a caller's mistake: nothing is
            stored).
    """
    events, people = list(events), people_of_scores(written)
    for name, rows in written.items():
        spec = RECORDED.get(name)
        if spec is None:
            continue
        if spec is SCORES:
            rows = [{**row, PEOPLE_FIELD: people_list(people.get(row["id"], ()))}
                    for row in rows]
        vouching = [index for index, event in enumerate(events) if event.action == spec.action]
        if len(vouching) != len(rows) or any(
                events[index].referral_id != row["referral_id"]
                for index, row in zip(vouching, rows, strict=True)):
            raise ValueError(f"{len(rows)} {name} rows written with {len(vouching)} "
                             f"{spec.action!r} audit entries: each vouches for one row")
        for index, row in zip(vouching, rows, strict=True):
            event = events[index]
            events[index] = replace(event, details={**event.details,
                                                    RECORD: record_of(spec, row)})
    return events
