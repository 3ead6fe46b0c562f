"""Where registered versions stand with governance, for the command line: each one's
approval standing (`safeguard model list`) and a one-line warning when a version a
command is about to use was rejected (`safeguard score`, `safeguard monitor`: scoring a
rejected version for research is allowed, silently is not); `safeguard score` also warns
of a version awaiting approval or whose approval is not valid
(`model.version_list.Standing.use_warning`).

Read only, from the decisions `api.approvals` records: a store that does not exist yet
is not created (it can hold no decision), and one that cannot be read makes each
standing "unknown", never an error that stops the command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from model.cli import UNKNOWN
from model.version_list import APPROVED, AWAITING, NOT_VALID, Standing

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.settings import Settings
    from api.store.db import Store
    from api.store.models import ModelApproval
    from model.governance import AcceptanceThresholds
    from model.registry import ModelRegistry

REJECTED: Final = "rejected"
REASON_SHOWN: Final = 80  # characters of a rejection's reason in the warning


def rejection_warning(decision: ModelApproval) -> str:
    """A rejection in one line: who, when, and the start of the reason."""
    reason = " ".join(decision.reason.split())
    if len(reason) > REASON_SHOWN:
        reason = reason[:REASON_SHOWN - 1] + "…"
    return (f"warning: version {decision.model_version} was rejected by governance "
            f"({decision.user_name}, {decision.created_at:%Y-%m-%d %H:%M}: {reason!r}); "
            "its scores are for research, not for triage")


def standing(session: Session, registry: ModelRegistry, version: str, *,
             board: AcceptanceThresholds | None, check_gate: bool = True,
             model_sha256: str | None = None) -> Standing:
    """A version's standing from its latest decision; with `check_gate`, an approval is
    also checked as promotion checks it (`api.approvals.gate_problem`: content unchanged,
    every missed threshold waived, the audit trail agrees; `model_sha256`: the model
    folder's hash as the caller read it, not read again)."""
    from api.approvals import APPROVE, REJECT, decisions_for, gate_problem

    history = decisions_for(session, registry.model_name, version)
    if not history:
        return Standing(AWAITING)
    latest = history[-1]
    who = f"{latest.user_name}, {latest.created_at:%Y-%m-%d %H:%M}"
    if latest.decision == REJECT:
        if any(row.decision == APPROVE for row in history):
            who += "; an earlier approval withdrawn"
        return Standing(REJECTED, who, warning=rejection_warning(latest))
    problem = (gate_problem(session, registry, version, board=board, model_sha256=model_sha256)
               if check_gate else None)
    return Standing(APPROVED, who) if problem is None else Standing(NOT_VALID, problem)


def import_ahead() -> None:
    """Import what `standings` reads (the settings, the store, the approvals: most of the
    check's 0.3-0.4 s at the end of `safeguard score` on 100,000 referrals), for a command
    to start on a background thread while it works, before the check it ends with."""
    import api.approvals  # noqa: F401
    import api.settings  # noqa: F401
    import api.store.db  # noqa: F401


def existing_store(settings: Settings) -> Store | None:
    """The settings' store, or None when it is an SQLite file that does not exist (opening
    it would create an empty database file, which every command then finds "not migrated")."""
    from api.store.db import Store, absent_sqlite_file

    return None if absent_sqlite_file(settings.database_url) else Store.from_settings(settings)


def standings(registry: ModelRegistry, versions: Sequence[str], *, check_gate: bool = True,
              folder_hashes: Mapping[str, str] | None = None) -> dict[str, Standing]:
    """The standing of each version in the settings' store: awaiting approval, each, when
    the store does not exist yet (no decision can have been recorded: an independent
    probe's `safeguard score` on a fresh install wrote an unapproved version's ratings
    without the warning it gives once the store exists);
    `folder_hashes`: the SHA-256 of versions' model folders as the caller has just read
    them (`safeguard score`'s load checked the folder it scored with), not read again."""
    from api.settings import Settings, board_thresholds

    try:
        settings = Settings()
        store = existing_store(settings)
        board = board_thresholds(settings) if check_gate else None
    except Exception as exc:  # noqa: BLE001 - an unreadable store is an unknown standing
        return dict.fromkeys(versions, Standing(UNKNOWN, _why(exc)))
    if store is None:
        return dict.fromkeys(versions, Standing(AWAITING, "no approval store yet: no decision "
                                                          "recorded"))
    try:
        reachable, reason = store.ping()
        if not reachable:
            return dict.fromkeys(versions, Standing(UNKNOWN, reason))
        with store.session() as session:
            return {version: _one(session, registry, version, board=board,
                                  check_gate=check_gate,
                                  model_sha256=(folder_hashes or {}).get(version))
                    for version in versions}
    finally:
        store.dispose()


def _one(session: Session, registry: ModelRegistry, version: str, *,
         board: AcceptanceThresholds | None, check_gate: bool,
         model_sha256: str | None = None) -> Standing:
    try:
        return standing(session, registry, version, board=board, check_gate=check_gate,
                        model_sha256=model_sha256)
    except Exception as exc:  # noqa: BLE001 - one version's check failing is not the list's
        # PostgreSQL aborts the transaction on an SQL error: every later version would
        # read "unknown: InFailedSqlTransaction" without this.
        session.rollback()
        return Standing(UNKNOWN, _why(exc))


def _why(exc: Exception) -> str:
    return f"cannot read its approval: {type(exc).__name__}: {' '.join(str(exc).split())}"
