"""The signed audit entry behind a model decision, which the gate and `verify` rely on.

`model_approvals` is a table like any other: whoever can write to the database can add an
approval to it, or delete a later rejection. The entry `api.approvals.record_decision`
appends with each decision (``model_approve`` or ``model_reject``) holds the row as
decided (`decision_details`, the user and the version) and is signed with the audit key,
which the database does not hold. So a version is served only when the latest decision
entry the trail holds about it is the store's latest decision, field for field, and that
entry's hash and signature hold (`trail_problem`, run by the gate); `safeguard audit
verify` checks every decision row against its entry (`api.audit_governance_check`).
Without an audit key the entry's hash is checked but not its signature: a forger who can
write to the database can then append a matching entry too, as they can any entry.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from api.audit import compute_entry_hash
from api.audit_key import AuditAnchorError, anchor_of
from api.store.models import AuditEntry, ModelApproval

DECISION_ACTIONS: Final = ("model_approve", "model_reject")
# The entries that vouch for users and model decisions: the partial index of migration
# 0012 holds exactly these (as literals, so that SQLite can use it).
GOVERNANCE_ACTIONS: Final = (*DECISION_ACTIONS, "model_waiver", "user_add", "user_revoke")
IN_GOVERNANCE_ACTIONS: Final = AuditEntry.action.in_(
    [literal_column(f"'{action}'") for action in GOVERNANCE_ACTIONS])


def decision_details(row: ModelApproval) -> dict[str, Any]:
    """What a decision's audit entry holds in its details (besides the user and version)."""
    return {"model_name": row.model_name, "decision": row.decision, "reason": row.reason,
            "waivers": dict(row.waivers), "model_sha256": row.model_sha256,
            "fairness_sha256": row.fairness_sha256, "card_sha256": row.card_sha256,
            "sources_sha256": row.sources_sha256}


def differing_fields(row: ModelApproval, entry: AuditEntry) -> list[str]:
    """The fields of a decision row its entry holds otherwise (empty: they agree)."""
    held = entry.details or {}
    differ = [name for name, value in decision_details(row).items() if held.get(name) != value]
    if entry.action != f"model_{row.decision}" and "decision" not in differ:
        differ.append("decision")
    if entry.user_name != row.user_name:
        differ.append("user_name")
    if entry.model_version != row.model_version:
        differ.append("model_version")
    return differ


def decision_entries(session: Session, model_version: str | None = None) -> list[AuditEntry]:
    """The decision entries (of one version, or of all), in chain order."""
    query = select(AuditEntry).where(IN_GOVERNANCE_ACTIONS)
    if model_version is not None:
        query = query.where(AuditEntry.model_version == model_version)
    return [entry for entry in session.scalars(query.order_by(AuditEntry.seq))
            if entry.action in DECISION_ACTIONS]


def _when(row: ModelApproval) -> str:
    return f"{row.created_at:%Y-%m-%d %H:%M}"


def trail_problem(session: Session, latest: ModelApproval) -> str | None:
    """Why the store's latest decision about a version is not the one the audit trail
    holds, signed (None: it is)."""
    entries = [entry for entry in decision_entries(session, latest.model_version)
               if (entry.details or {}).get("model_name") == latest.model_name]
    what = f"the {latest.decision} of version {latest.model_version} recorded on {_when(latest)}"
    if not entries:
        return (f"{what} has no audit entry: it was written into the database, not recorded "
                "by a governance user (`safeguard model approve`, the API or the web form)")
    entry = entries[-1]
    if differ := differing_fields(latest, entry):
        return (f"{what} is not the latest decision about it in the audit trail (entry "
                f"{entry.seq}): its {', '.join(differ)} differ; the store's decisions were "
                "changed outside the service")
    return _signature_problem(session, entry)


def _signature_problem(session: Session, entry: AuditEntry) -> str | None:
    if compute_entry_hash(entry) != entry.entry_hash:
        return f"audit entry {entry.seq}, the decision the gate relies on, was edited"
    anchor = anchor_of(session.get_bind().engine)
    if anchor is None:
        return None
    if entry.entry_mac is None:
        try:
            adopted = max((c.unsigned_through for c in anchor.read_checkpoints()), default=0)
        except AuditAnchorError as exc:
            return f"cannot check audit entry {entry.seq}, the decision the gate relies on: {exc}"
        return None if entry.seq <= adopted else (
            f"audit entry {entry.seq}, the decision the gate relies on, carries no signature")
    if not anchor.entry_mac_ok(entry.entry_hash, entry.entry_mac):
        return (f"audit entry {entry.seq}, the decision the gate relies on, does not match its "
                "signature: forged or edited")
    return None
