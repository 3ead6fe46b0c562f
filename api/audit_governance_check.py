"""Checking the users and the model decisions against the audit entries that vouch for them.

Who may do what is read from the ``users`` table on every request, and which model may be
served from ``model_approvals``: a row written there directly (a user made admin, a
revoked key restored, an approval no governance user gave) would otherwise verify. Each
row has its entry: a user's ``user_add`` (name, role and, since migration 0012, the key's id
and a digest of its salt and hash) and ``user_revoke`` (with the time, since then); a
decision's ``model_approve`` or ``model_reject`` (`api.approval_trail`). Users are never
given another role: a role differing from its ``user_add`` entry is a change made behind
the service's back. Both tables are small (tens of rows), so they are held in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.approval_trail import IN_GOVERNANCE_ACTIONS, decision_entries, differing_fields
from api.audit import AuditEvent, operator_event, sha256_hex
from api.audit_record_problems import RecordProblem
from api.store.models import AuditEntry, ModelApproval, User, as_utc

USERS, APPROVALS = "users", "model_approvals"


def _key_digest(user: User) -> str:
    return "sha256:" + sha256_hex(f"{user.key_salt}:{user.key_hash}".encode("ascii"))


def _moment(moment: datetime) -> str:
    return as_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds")


def user_added(user: User) -> AuditEvent:
    """The entry of a user's creation: what `verify` holds their row to."""
    return operator_event("user_add", name=user.name, role=user.role, key_id=user.key_id,
                          key=_key_digest(user))


def user_revoked(user: User) -> AuditEvent:
    """The entry of a user's revocation (``revoked_at`` set)."""
    assert user.revoked_at is not None
    return operator_event("user_revoke", name=user.name, revoked_at=_moment(user.revoked_at))


@dataclass(frozen=True)
class GovernanceResult:
    """The users and model decisions checked: the problems and how many rows match."""

    problems: tuple[RecordProblem, ...]
    matched: dict[str, int]


def verify_governance(session: Session) -> GovernanceResult:
    """Check every user and every model decision against its audit entries."""
    users, user_problems = _check_users(session)
    decisions, decision_problems = _check_decisions(session)
    return GovernanceResult(tuple(user_problems + decision_problems),
                            {USERS: users, APPROVALS: decisions})


def _check_users(session: Session) -> tuple[int, list[RecordProblem]]:
    added: dict[str, AuditEntry] = {}
    revoked: dict[str, AuditEntry] = {}
    for entry in session.scalars(select(AuditEntry).where(IN_GOVERNANCE_ACTIONS)
                                 .order_by(AuditEntry.seq)):
        if entry.action in ("user_add", "user_revoke"):
            into = added if entry.action == "user_add" else revoked
            into[str((entry.details or {}).get("name"))] = entry
    problems: list[RecordProblem] = []
    matched = 0
    for user in session.scalars(select(User).order_by(User.id)):
        add = added.pop(user.name, None)
        if add is None:
            problems.append(RecordProblem(USERS, "no entry", user.id, None))
            continue
        differ = _user_differs(user, add.details or {}, revoked.get(user.name))
        if differ:
            problems.append(RecordProblem(USERS, "differs", user.id, add.seq,
                                          fields=tuple(differ)))
        else:
            matched += 1
    problems += [RecordProblem(USERS, "missing", None, entry.seq, named=f"user {name!r}")
                 for name, entry in added.items()]
    return matched, problems


def _user_differs(user: User, held: dict[str, Any], revoke: AuditEntry | None) -> list[str]:
    differ: list[str] = [name for name in ("role", "key_id") if name in held
              and held[name] != getattr(user, name)]
    if "key" in held and held["key"] != _key_digest(user):
        differ.append("key_salt or key_hash")
    if (revoke is None) != (user.revoked_at is None):
        differ.append("revoked_at")
    elif revoke is not None and user.revoked_at is not None:
        recorded = (revoke.details or {}).get("revoked_at")
        if recorded is not None and recorded != _moment(user.revoked_at):
            differ.append("revoked_at")
    return differ


def _check_decisions(session: Session) -> tuple[int, list[RecordProblem]]:
    rows: dict[tuple[str, str], list[ModelApproval]] = defaultdict(list)
    for row in session.scalars(select(ModelApproval).order_by(ModelApproval.id)):
        rows[(row.model_name, row.model_version)].append(row)
    entries: dict[tuple[str, str], list[AuditEntry]] = defaultdict(list)
    for entry in decision_entries(session):
        entries[(str((entry.details or {}).get("model_name")), str(entry.model_version))
                ].append(entry)
    problems = [problem for version in rows.keys() | entries.keys()
                for stored, vouching in _paired(rows[version], entries[version])
                if (problem := _decision_problem(stored, vouching, version=version[1]))]
    return sum(len(listed) for listed in rows.values()) - sum(
        problem.row_id is not None for problem in problems), problems


def _decision_problem(row: ModelApproval | None, entry: AuditEntry | None, *, version: str
                      ) -> RecordProblem | None:
    if entry is None:
        return RecordProblem(APPROVALS, "no entry", row.id if row else None, None)
    if row is None:
        return RecordProblem(APPROVALS, "missing", None, entry.seq,
                             named=f"a decision about version {version}")
    if differ := differing_fields(row, entry):
        return RecordProblem(APPROVALS, "differs", row.id, entry.seq, fields=tuple(differ))
    return None


def _paired(rows: list[ModelApproval], entries: Iterable[AuditEntry]
            ) -> Iterable[tuple[ModelApproval | None, AuditEntry | None]]:
    """Each entry, in order, with the first free row it holds exactly; the rest in turn."""
    free, left = list(rows), []
    for entry in entries:
        held = next((row for row in free if not differing_fields(row, entry)), None)
        if held is None:
            left.append(entry)
        else:
            free.remove(held)
            yield held, entry
    yield from zip_longest(free, left)
