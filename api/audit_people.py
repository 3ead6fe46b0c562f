"""The people a score's case named, as the score's audit entry records them.

Subject access reads ``referral_people`` (`api.subject_access`): a row deleted there drops
a referral from a person's report, and a row added hands a stranger someone's scores.
Each score row's entry therefore records, besides the row, the people its case named
(`api.audit_records`: ``details["record"]["fields"]["people"]``, a SHA-256 of the sorted
list of their tokens, households and roles, since the trail names no person plainly
where it need not), and `verify` compares the rows stored for the score with it. Rows
naming no score (stored before migration 0010) cannot be checked: they are counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from sqlalchemy import Connection, func, select

from api.store.models import REFERRAL_PERSON_TABLE as PEOPLE

PEOPLE_TABLE: Final = PEOPLE.name
PEOPLE_FIELD: Final = "people"  # the score's field in its entry's record
STREAM_ROWS: Final = 1000


def people_list(people: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """The people of one score as recorded: [person, household, role], sorted."""
    return sorted(([p["person_id"], p["household_id"], p["role"]] for p in people),
                  key=json.dumps)


def people_of_scores(written: Mapping[str, Iterable[Mapping[str, Any]]]
                     ) -> dict[Any, list[Mapping[str, Any]]]:
    """The people rows written in a transaction, by the score they name."""
    by_score: dict[Any, list[Mapping[str, Any]]] = {}
    for person in written.get(PEOPLE_TABLE, ()):
        by_score.setdefault(person.get("score_id"), []).append(person)
    return by_score


def with_people(connection: Connection, scores: Iterator[dict[str, Any]], *,
                orphan: Callable[[int], None]) -> Iterator[dict[str, Any]]:
    """The score rows (by id), each with its stored people (``people``); ``orphan`` is
    called with the id of each people row naming a score that is not stored."""
    query = (select(PEOPLE.c.id, PEOPLE.c.score_id, PEOPLE.c.person_id,
                    PEOPLE.c.household_id, PEOPLE.c.role)
             .where(PEOPLE.c.score_id.is_not(None)).order_by(PEOPLE.c.score_id, PEOPLE.c.id))
    people = (row._asdict() for row in connection.execute(
        query.execution_options(yield_per=STREAM_ROWS)))
    person = next(people, None)
    for score in scores:
        named = []
        while person is not None and person["score_id"] <= score["id"]:
            if person["score_id"] == score["id"]:
                named.append(person)
            else:
                orphan(person["id"])
            person = next(people, None)
        yield {**score, PEOPLE_FIELD: people_list(named)}
    while person is not None:
        orphan(person["id"])
        person = next(people, None)


def unchecked_people(connection: Connection) -> int:
    """How many people rows name no score (stored before migration 0010)."""
    return int(connection.execute(select(func.count()).select_from(PEOPLE)
                                  .where(PEOPLE.c.score_id.is_(None))).scalar() or 0)
