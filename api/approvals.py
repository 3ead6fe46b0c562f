"""The approval gate: governance users approve or reject a model version's exact content.

An approval names the SHA-256 of the version's model folder and of every file its
card and acceptance checks read (`api.approval_content`), and waives, by name, once
each and each with its own reason, the acceptance thresholds the version does not
meet, each at the board's figure where the version's own is looser (`board`,
`model.agreed_thresholds`; a fairness threshold's waiver covers every group beyond it: the
waiver's audit entry and the card name each, with its figure, and the refusal, one line per
threshold, the first few and how many more, `api.approval_refusal`). It is valid while it is
the version's latest decision, all that it names is unchanged, every threshold the
version misses is waived in it, and it is the latest decision about the version in the
audit trail, signed (`api.approval_trail`: a row written into the database directly is
no approval). `safeguard model promote` and `rollback` move the served alias only to a
version with a valid approval, and the service serves no champion without one
(`gate_problem`). The API route, the web form and the command line all call
`record_decision` (and `one_waiver_each`, where a threshold can be named twice); every
approval, rejection and waiver is an audit entry naming the user. A version trained on
another feature manifest than this release builds is never approved (it can never be
served: `model.trained_manifest.manifest_problem` is the refusal); it may be rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api.access_refusals import unregistered_decision_event
from api.approval_content import ContentHashes, content_hashes, covers_too_little
from api.approval_refusal import describe, not_approved
from api.approval_trail import decision_details, trail_problem
from api.audit import AuditEvent, commit_with_audit, request_hash
from api.free_text import MAX_TEXT, refuse_hidden_characters, visible
from api.roles import GOVERNANCE
from api.settings import Settings, board_thresholds
from api.store.db import Store
from api.store.models import ModelApproval
from data_contracts.digits import ascii_whole_number
from model.acceptance import unmet
from model.card import acceptance_checks
from model.card_sources import read_sources
from model.governance import AcceptanceThresholds
from model.registry import ModelRegistry, RegistryError, RegistryUnavailable
from model.registry_records import VersionInfo
from model.registry_sqlite import MAX_VERSION, exact_version
from model.threshold_checks import ThresholdCheck
from model.trained_manifest import manifest_problem

APPROVE: Final = "approve"
REJECT: Final = "reject"
DECISIONS: Final = (APPROVE, REJECT)
MAX_REASON: Final = 5_000  # a decision's reason; a waiver's is at most `MAX_TEXT`
MAX_WAIVERS: Final = 50


class ApprovalRefused(ValueError):
    """The approval or rejection cannot be recorded; the message says why."""


class RepeatedWaiver(ApprovalRefused):
    """One threshold waived more than once (one reason would silently replace another)."""

    def __init__(self, threshold: str) -> None:
        super().__init__(f"{threshold} is waived more than once: waive each threshold once, "
                         "with one reason")
        self.threshold = threshold


def one_waiver_each(waivers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Waivers given as (threshold, reason) pairs, as a mapping; raises `RepeatedWaiver`
    when a threshold is named twice (the command line's, the API's and the form's rule)."""
    found: dict[str, str] = {}
    for name, why in waivers:
        if name in found:
            raise RepeatedWaiver(name)
        found[name] = why
    return found


def decisions_for(session: Session, model_name: str, version: str) -> list[ModelApproval]:
    """Every approval and rejection of a version, oldest first."""
    return list(session.scalars(
        select(ModelApproval).where(ModelApproval.model_name == model_name,
                                    ModelApproval.model_version == version)
        .order_by(ModelApproval.id)))


def _check_waivers(checks: list[ThresholdCheck], decision: str,
                   waivers: Mapping[str, str]) -> None:
    names = {check.name for check in checks}
    if unknown := sorted(set(waivers) - names):
        raise ApprovalRefused(f"no threshold called {', '.join(unknown)}; the thresholds are "
                              f"{', '.join(sorted(names))}")
    if blank := sorted(name for name, why in waivers.items() if not visible(why)):
        raise ApprovalRefused(f"a waiver needs its own reason: {', '.join(blank)}")
    if long := sorted(name for name, why in waivers.items() if len(why) > MAX_TEXT):
        raise ApprovalRefused(f"a waiver's reason is at most {MAX_TEXT:,} characters: "
                              f"{', '.join(long)}")
    if met := sorted(c.name for c in checks if c.met and c.name in waivers):
        raise ApprovalRefused(f"{', '.join(met)} is met: there is nothing to waive")
    if decision == REJECT and waivers:
        raise ApprovalRefused("waivers go with an approval, not a rejection")
    missing = [c for c in unmet(checks) if c.name not in waivers]
    if decision == APPROVE and missing:
        raise ApprovalRefused(not_approved(missing))


def _events(user: str, role: str, row: ModelApproval, checks: list[ThresholdCheck]
            ) -> list[AuditEvent]:
    details = decision_details(row)
    events = [AuditEvent(user_name=user, role=role, action=f"model_{row.decision}",
                         request_hash=request_hash(details), model_version=row.model_version,
                         details=details)]
    by_name = {check.name: check for check in checks}
    for name, why in sorted(row.waivers.items()):
        check = by_name[name]
        waived = {"model_name": row.model_name, "threshold": name, "reason": why,
                  "required": check.required, "measured": check.measured,
                  # what the waiver covers: every group beyond the threshold, each figure
                  "groups": [{"group": g.group, "metric": g.metric, "value": g.value,
                              "note": g.note} for g in check.groups]}
        events.append(AuditEvent(user_name=user, role=role, action="model_waiver",
                                 request_hash=request_hash(waived),
                                 model_version=row.model_version, details=waived))
    return events


def _not_a_version_number(version: str) -> str:
    """Why a decision's ``version`` names none (`exact_version` refused it): it was "not an
    alias" for any, though ``9999999999`` is a number, if one no version can have."""
    asked = f"no version {version[:40]!r}"
    number = ascii_whole_number(version)
    if number is not None and not 1 <= number <= MAX_VERSION:
        return f"{asked}: version numbers run from 1 to {MAX_VERSION:,}"
    named = f"{asked}: a decision names the version by its number"
    if number is not None:
        return f"{named} as `safeguard model list` shows it: {number}"
    if version.isdigit():
        return f"{named} in ASCII digits (0-9)"
    return f"{named}, as `safeguard model list` shows it, not an alias"


def record_decision(session: Session, registry: ModelRegistry, *, user: str, role: str,
                    version: str, decision: str, reason: str,
                    waivers: Mapping[str, str] | None = None,
                    board: AcceptanceThresholds | None,
                    first: Callable[[Connection], None] | None = None) -> ModelApproval:
    """Record an approval or rejection of a version's current content, with its audit
    entries, judged against the board's thresholds `board` too (`board_thresholds`; None:
    as trained); `first` (a check, `commit_with_audit`'s) runs under the audit's lock.

    Raises:
        PermissionError: The user is not a governance user.
        model.registry.RegistryError: There is no such version, or ``version`` is not
            written as its number (an alias or ``latest`` may name another version by the
            time the decision is recorded): audited, naming the user and what was asked.
        ApprovalRefused: The request is incomplete or the version cannot be approved as it is.
    """
    if role != GOVERNANCE:
        raise PermissionError(f"role {role!r} may not approve or reject a model version")
    if decision not in DECISIONS or not visible(reason):
        raise ApprovalRefused("a decision (approve or reject) and a written reason are required")
    if len(reason) > MAX_REASON:
        raise ApprovalRefused(f"the reason is at most {MAX_REASON:,} characters")
    for text in (reason, *(waivers or {}), *(waivers or {}).values()):
        try:
            refuse_hidden_characters(text)
        except ValueError as exc:
            raise ApprovalRefused(f"the reason and the waivers {exc}") from None
    try:
        if not exact_version(version):
            raise RegistryError(_not_a_version_number(version))
        info = registry.resolve(version)
    except RegistryError as exc:
        if not isinstance(exc, RegistryUnavailable):  # a 503 says nothing of the version
            commit_with_audit(session, [unregistered_decision_event(
                user, role, version=version, decision=decision)])
        raise
    waivers = dict(waivers or {})
    sources = read_sources(registry, info.version)
    hashes = content_hashes(registry, info, sources)
    if hashes.model != hashes.checksum_tag:
        raise ApprovalRefused(f"version {info.version}: the stored model folder does not match "
                              "the registry's checksum; it was changed or damaged")
    if decision == APPROVE and (unservable := manifest_problem(info.version,
                                                              sources.trained_manifest)):
        raise ApprovalRefused(unservable)  # as every load refuses it: it can never be served
    if hashes.card is None:
        raise ApprovalRefused(f"version {info.version} has no model card logged with its run: "
                              f"log it with `safeguard model card {info.version} --log` and "
                              "read it before deciding")
    checks = acceptance_checks(sources, board=board)  # from the very bytes hashed
    _check_waivers(checks, decision, waivers)
    row = ModelApproval(model_name=info.name, model_version=info.version, decision=decision,
                        reason=reason.strip(), waivers=waivers, user_name=user,
                        model_sha256=hashes.model, fairness_sha256=hashes.fairness,
                        card_sha256=hashes.card, sources_sha256=dict(hashes.files))
    session.add(row)
    commit_with_audit(session, _events(user, role, row, checks), first=first)
    return row


def _problem(info: VersionInfo, latest: ModelApproval, hashes: ContentHashes,
             checks: list[ThresholdCheck]) -> str | None:
    if latest.decision == REJECT:
        return rejected(latest)
    if too_little := covers_too_little(latest):
        return too_little
    if changed := hashes.changed_since(latest):
        return (f"the approval of version {info.version} recorded on "
                f"{latest.created_at:%Y-%m-%d %H:%M} is void: its "
                f"{' and '.join(changed)} changed since it was approved")
    if missing := [c for c in unmet(checks) if c.name not in latest.waivers]:
        return (f"version {info.version} does not meet " + "; ".join(map(describe, missing))
                + " and its approval does not waive it")
    return None


def rejected(decision: ModelApproval) -> str:
    """What a rejection says of its version: that governance rejected it, and when. Not
    who, nor its free-text reason, which may name a person: this reaches the
    unauthenticated `/readyz` and the triage users' pages. The governance pages (the
    approval task list, the model card's approval history) and the audit trail keep both."""
    return (f"version {decision.model_version} was rejected by governance on "
            f"{decision.created_at:%Y-%m-%d %H:%M}")


@contextmanager
def _session_in(settings: Settings) -> Iterator[Session]:
    """A session on the settings' store (with its audit key: the gate checks the
    signature of the decision it relies on), the store let go after it."""
    store = Store.from_settings(settings)
    try:
        with store.session() as session:
            yield session
    finally:
        store.dispose()


def latest_decision(session: Session, model_name: str, version: str) -> ModelApproval | None:
    """The latest approval or rejection of a version (None: none yet)."""
    history = decisions_for(session, model_name, version)
    return history[-1] if history else None


def latest_decision_in(settings: Settings, model_name: str, version: str
                       ) -> ModelApproval | None:
    """`latest_decision` in the settings' store; raises what the store raises."""
    with _session_in(settings) as session:
        return latest_decision(session, model_name, version)


def _gate(session: Session, registry: ModelRegistry, info: VersionInfo,
          history: list[ModelApproval], board: AcceptanceThresholds | None, *,
          model_sha256: str | None = None) -> str | None:
    if not history:
        return (f"version {info.version} has no recorded approval: a governance user must "
                f"approve it (`safeguard model approve {info.version}`)")
    sources = read_sources(registry, info.version)
    hashes = content_hashes(registry, info, sources, model_sha256=model_sha256)
    return (_problem(info, history[-1], hashes, acceptance_checks(sources, board=board))
            or trail_problem(session, history[-1]))  # a row the trail does not hold is none


def gate_problem(session: Session, registry: ModelRegistry, version: str, *,
                 board: AcceptanceThresholds | None, model_sha256: str | None = None
                 ) -> str | None:
    """Why a version may not be served (None: it has a valid approval), its thresholds
    judged against the board's (`board`) too; `model_sha256`: its model folder's hash as
    the caller has just read it (`content_hashes`), so the folder is not read again."""
    info = registry.resolve(version)
    return _gate(session, registry, info, decisions_for(session, info.name, info.version),
                 board, model_sha256=model_sha256)


def gate_state_in(settings: Settings, registry: ModelRegistry, version: str
                  ) -> tuple[int | None, str | None]:
    """The id of a version's latest decision (None: none yet) and why it may not be
    served (None: it may), from the settings' store; raises what the store or the
    registry raises (a check that could not run is not a refusal to remember)."""
    info = registry.resolve(version)
    with _session_in(settings) as session:
        history = decisions_for(session, info.name, info.version)
        return ((history[-1].id if history else None),
                _gate(session, registry, info, history, board_thresholds(settings)))


def gate_problem_in(settings: Settings, registry: ModelRegistry, version: str) -> str | None:
    """`gate_problem` against the settings' store (its reason when the store cannot say)."""
    try:
        return gate_state_in(settings, registry, version)[1]
    except Exception as exc:  # noqa: BLE001 - an unknown approval is no approval
        return f"cannot check the approval of version {version}: {type(exc).__name__}: {exc}"
