"""What the governance pages show about a version's approval (issue 17's gate, as pages).

The governance pages ask this module, and only this module, about approvals: the
version page and the approval task list show whatever `approval_state` returns. It
reads the gate's own answers: the acceptance checks of the version
(`model.card.acceptance_checks` on `model.card_sources.read_sources`) and its
approval history with each decision's validity (`api.approval_history.approval_history`,
which holds an approval valid while the content it names is unchanged and it waives
every threshold missed). Nothing is decided here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api.approval_history import approval_history
from api.approvals import APPROVE, latest_decision
from api.settings import Settings, settings_registry
from api.store.models import ModelApproval
from api.templating import when
from model.acceptance import unmet
from model.card import ApprovalEntry, acceptance_checks
from model.card_sources import read_sources
from model.governance import AcceptanceThresholds
from model.registry import ModelRegistry
from model.registry_records import VersionInfo
from model.threshold_checks import ThresholdCheck

logger = logging.getLogger(__name__)
_Read = TypeVar("_Read")

NOT_AVAILABLE = "The approval of this version could not be read"


class ReadOnce(ModelRegistry):
    """One page's registry: each version, artifact and run's parameters is read once,
    however many of the gate's checks ask. A version's approval task list read its card's
    ten recorded files twice (`read_sources`, then again in `approval_history`'s gate):
    1.6 s a page on the demo's registry, 0.7 s read once. The page's figures and the
    validity it states are so read from the same bytes. Never kept past the page."""

    def __init__(self, registry: ModelRegistry) -> None:
        super().__init__(registry.tracking_uri, model_name=registry.model_name,
                         artifact_root=registry.artifact_root)
        self._reads: dict[tuple[str, ...], Any] = {}

    def _once(self, key: tuple[str, ...], read: Callable[[], _Read]) -> _Read:
        if key not in self._reads:
            self._reads[key] = read()
        return self._reads[key]  # type: ignore[no-any-return]

    def resolve(self, reference: str) -> VersionInfo:
        """The version a reference names (read once)."""
        return self._once(("resolve", reference), lambda: super(ReadOnce, self).resolve(reference))

    def read_artifact(self, version: str, path: str) -> bytes | None:
        """An artifact of a version's run (read once)."""
        return self._once(("artifact", version, path),
                          lambda: super(ReadOnce, self).read_artifact(version, path))

    def run_params(self, version: str) -> dict[str, str]:
        """A version's run parameters (read once)."""
        return self._once(("params", version), lambda: super(ReadOnce, self).run_params(version))


def page_registry(settings: Settings) -> ModelRegistry:
    """The registry the settings name, for one page's reads (`ReadOnce`)."""
    return ReadOnce(settings_registry(settings))


def model_card_url(version: str) -> str:
    """Where a version's model card is shown to signed-in governance users."""
    return f"/governance/versions/{version}/card"


def fairness_report_url(version: str) -> str:
    """Where a version's fairness report is shown to signed-in governance users."""
    return f"/governance/versions/{version}/fairness"


@dataclass(frozen=True)
class ApprovalTask:
    """One line of the approval task list: what is checked and where it stands."""

    name: str
    status: str
    detail: str = ""
    done: bool = False


@dataclass(frozen=True)
class ApprovalState:
    """What the governance pages show about approving one version."""

    available: bool
    summary: str
    tasks: tuple[ApprovalTask, ...] = field(default_factory=tuple)
    fairness_report_url: str | None = None
    checks: tuple[ThresholdCheck, ...] = ()
    approved: bool = False
    latest_decision: str | None = None  # approve or reject; None: no decision yet

    @property
    def unmet(self) -> list[ThresholdCheck]:
        """The thresholds the version does not meet (each needs a waiver to approve)."""
        return unmet(self.checks)


# The task list's lines, in the order a board works through them (issue 20).
APPROVAL_TASKS = ("Acceptance thresholds met", "Waivers recorded", "Approval recorded")


def _missed(check: ThresholdCheck) -> str:
    """A threshold missed, as the decision form words it: what is required, what the
    version measured, and every group beyond it (the task list named the threshold only)."""
    beyond = f"; {check.detail}" if check.detail else ""
    measured = check.measured_text(4, "g")
    return f"{check.name} (required {check.required}, measured {measured}{beyond})"


def _thresholds_task(checks: list[ThresholdCheck]) -> ApprovalTask:
    missed = unmet(checks)
    looser = [c.name for c in checks if c.trained_threshold is not None]
    board = (". Trained under looser thresholds than the board's, so judged at the board's: "
             + ", ".join(looser)) if looser else ""
    if not missed:
        return ApprovalTask(
            APPROVAL_TASKS[0], "Met", f"All {len(checks)} thresholds met{board}", done=True
        )
    return ApprovalTask(
        APPROVAL_TASKS[0],
        f"{len(missed)} of {len(checks)} not met",
        "Not met: " + "; ".join(_missed(c) for c in missed) + board,
    )


def _waivers_task(checks: list[ThresholdCheck], latest: ApprovalEntry | None) -> ApprovalTask:
    missed = [c.name for c in unmet(checks)]
    if not missed:
        return ApprovalTask(APPROVAL_TASKS[1], "Not needed", done=True)
    waived = latest.waivers if latest is not None and latest.decision == APPROVE else {}
    if missing := [name for name in missed if name not in waived]:
        return ApprovalTask(
            APPROVAL_TASKS[1], "To do", "Needs a waiver with its own reason: " + ", ".join(missing)
        )
    return ApprovalTask(
        APPROVAL_TASKS[1],
        "Waived",
        "; ".join(f"{name}: {waived[name]}" for name in missed),
        done=True,
    )


def _approval_task(latest: ApprovalEntry | None) -> ApprovalTask:
    if latest is None:
        return ApprovalTask(APPROVAL_TASKS[2], "Not started", "No approval or rejection yet")
    by = f"by {latest.user} on {when(datetime.fromisoformat(latest.at))}: {latest.reason}"
    if latest.valid:
        return ApprovalTask(APPROVAL_TASKS[2], "Approved", f"Approved {by}", done=True)
    if latest.decision == APPROVE:
        return ApprovalTask(APPROVAL_TASKS[2], "Void", f"Approved {by}. {latest.validity}")
    return ApprovalTask(APPROVAL_TASKS[2], "Rejected", f"Rejected {by}")


def _summary(version: str, latest: ApprovalEntry | None) -> str:
    if latest is None:
        return f"Version {version} has no recorded approval: it may not be served"
    if latest.valid:
        return f"Version {version} is approved and may be served"
    return f"Version {version} may not be served: {latest.validity}"


def approval_state(session: Session, version: str, *, registry: ModelRegistry,
                   board: AcceptanceThresholds | None) -> ApprovalState:
    """The approval of `version`: thresholds met (judged against the board's, `board`,
    as the gate judges them), waivers, the approval recorded."""
    try:
        sources = read_sources(registry, version)
        history = approval_history(session, registry, version, board=board)
    except Exception as exc:  # noqa: BLE001 - the pages say the approval cannot be read
        logger.warning(
            "the approval of version %s could not be read (%s)", version, type(exc).__name__
        )
        return ApprovalState(
            available=False,
            summary=NOT_AVAILABLE,
            tasks=tuple(ApprovalTask(name, status="Cannot be checked") for name in APPROVAL_TASKS),
        )
    # The board's own page: every figure it would waive, none withheld (the card, meant
    # for publication, withholds a small count's; the gate judges the full report anyway).
    checks = acceptance_checks(sources, board=board)
    latest = history[-1] if history else None
    return ApprovalState(
        available=True,
        summary=_summary(version, latest),
        tasks=(_thresholds_task(checks), _waivers_task(checks, latest), _approval_task(latest)),
        fairness_report_url=fairness_report_url(version) if sources.fairness else None,
        checks=tuple(checks),
        approved=latest is not None and latest.valid,
        latest_decision=latest.decision if latest is not None else None,
    )


# The hidden field of check your answers naming the version's latest decision it was
# checked against ("" when none): a confirmation is recorded only while it still is.
SEEN_FIELD = "previous_approval_id"


def latest_seen(session: Session, model_name: str, version: str) -> str:
    """The id of the version's latest decision, as check your answers carries it."""
    latest = latest_decision(session, model_name, version)
    return "" if latest is None else str(latest.id)


def decided_since(session: Session, model_name: str, version: str, seen: str | None
                  ) -> ModelApproval | None:
    """The version's latest decision when it is not the one its confirmation was checked
    against (None: unchanged, or a post without the field, as before it was sent)."""
    latest = latest_decision(session, model_name, version)
    return latest if _moved_on(seen, None if latest is None else latest.id) else None


def _moved_on(seen: str | None, latest: int | None) -> bool:
    """Whether the latest decision's id is not the one a confirmation was checked
    against (`seen`: "" when none; None, a post without the field, is never moved on)."""
    return seen is not None and latest is not None and seen != str(latest)


class DecidedMeanwhile(RuntimeError):
    """A decision on the version was recorded after its confirmation was checked."""


def still_latest(model_name: str, version: str, seen: str | None
                 ) -> Callable[[Connection], None] | None:
    """`decided_since` again, under the audit's lock as the decision is written
    (`record_decision`'s `first`): two confirmations sent at once (a double click) both
    found the decision unchanged before either was written, and both were recorded."""
    if seen is None:
        return None

    def check(connection: Connection) -> None:
        latest = connection.scalar(
            select(ModelApproval.id).where(ModelApproval.model_name == model_name,
                                           ModelApproval.model_version == version)
            .order_by(ModelApproval.id.desc()).limit(1))
        if _moved_on(seen, latest):  # as `decided_since` judges
            raise DecidedMeanwhile(version)

    return check
