"""A version's approvals and rejections as its model card lists them, each saying
whether it holds now, as the approval gate (`api.approvals.gate_problem`) judges it, and
what each waiver covered when it was given: the groups its audit entry (`model_waiver`,
written with the decision's) named then, not those of the version's reports now (a later
fairness audit replaces `fairness_audit/fairness.json`, and the card showed an earlier
waiver as covering the later audit's groups).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.approval_trail import DECISION_ACTIONS, IN_GOVERNANCE_ACTIONS, differing_fields
from api.approvals import APPROVE, REJECT, decisions_for, gate_problem
from api.store.models import AuditEntry, ModelApproval
from model.card import ApprovalEntry
from model.governance import AcceptanceThresholds
from model.registry import ModelRegistry


def _utc(moment: datetime) -> str:
    """A stored time (UTC: naive from SQLite, aware from PostgreSQL) as RFC 3339, with Z."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{aware:%Y-%m-%dT%H:%M:%SZ}"


def approval_history(session: Session, registry: ModelRegistry, version: str, *,
                     board: AcceptanceThresholds | None) -> list[ApprovalEntry]:
    """A version's approvals and rejections for its card, each saying whether it holds now
    (as `gate_problem` judges it against `board`)."""
    info = registry.resolve(version)
    history = decisions_for(session, info.name, info.version)
    problem = gate_problem(session, registry, info.version, board=board) if history else None
    covered = _covered(session, history)
    return [ApprovalEntry(
        decision=row.decision, user=row.user_name, at=_utc(row.created_at),
        reason=row.reason, waivers=dict(row.waivers),
        valid=row is history[-1] and row.decision == APPROVE and problem is None,
        validity=(problem or "") if row is history[-1] else _SUPERSEDED,
        in_force=_in_force(row, latest=row is history[-1], problem=problem),
        covered=covered[index])
        for index, row in enumerate(history)]


_SUPERSEDED: Final = "superseded by a later decision"


def _in_force(row: ModelApproval, *, latest: bool, problem: str | None) -> str:
    """Whether a decision holds, as the card's history says it: the latest rejection holds
    (the card said "no (version 2 was rejected ...)", as if it no longer did)."""
    if not latest:
        return f"no ({_SUPERSEDED})"
    if row.decision == REJECT:
        return "yes: the version may not be served"
    return "yes" if problem is None else f"no ({problem})"


_NOT_IN_TRAIL: Final = "what it covered when given is not in the audit trail"
_NO_GROUPS: Final = "the groups it covered were not recorded with it (before 6 December)"


def _covered(session: Session, history: list[ModelApproval]) -> list[dict[str, str]]:
    """For each decision, what each of its waivers covered when it was given, from the
    waiver entries recorded with the decision's own entry (the decision entries are matched
    to the rows in order, field for field, as the gate matches them)."""
    if not any(row.waivers for row in history):
        return [{} for _ in history]
    entries = list(session.scalars(select(AuditEntry).where(
        IN_GOVERNANCE_ACTIONS, AuditEntry.model_version == history[0].model_version)
        .order_by(AuditEntry.seq)))
    found: list[dict[str, str]] = []
    start = 0
    for row in history:
        at = next((i for i in range(start, len(entries))
                   if entries[i].action in DECISION_ACTIONS
                   and not differing_fields(row, entries[i])), None)
        if at is None:
            found.append(dict.fromkeys(row.waivers, _NOT_IN_TRAIL))
            continue
        waived: dict[str, str] = {}
        for entry in entries[at + 1:]:
            if entry.action != "model_waiver":
                break
            details = entry.details or {}
            if details.get("model_name") == row.model_name:
                waived[str(details.get("threshold"))] = (
                    _covering(details["groups"]) if "groups" in details else _NO_GROUPS)
        found.append({name: waived.get(name, _NOT_IN_TRAIL) for name in row.waivers})
        start = at + 1
    return found


def _covering(groups: list[dict[str, object]]) -> str:
    """A waiver entry's groups, each with its figure as recorded (up to six significant
    digits: the entry keeps no threshold to show it on its side of); "" when it names none."""
    if not groups:
        return ""
    return "covering " + "; ".join(_group(g) for g in groups)


def _group(group: dict[str, object]) -> str:
    value = group.get("value")
    shown = f"{value:.6g}" if isinstance(value, (int, float)) else "no figure"
    note = f": {group['note']}" if group.get("note") else ""
    return f"{group.get('group')} ({group.get('metric')} {shown}{note})"
