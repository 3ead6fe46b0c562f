"""EXTENSION POINT (issue 17): a version's model card, fairness report and approval.

The governance pages ask this module, and only this module, about approvals: the
version page and the approval task list show whatever `approval_state` returns.
This build has no approvals table, model card route or fairness report, so it
says so honestly; the work of issue 17 replaces the body of `approval_state`
(reading its approvals table and fairness report for the version) and nothing
else on the pages needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

NOT_AVAILABLE = "Approvals are not available in this build"


def model_card_url(version: str) -> str:
    """Where a version's model card is served (`GET /v1/models/{version}/card`, issue 17)."""
    return f"/v1/models/{version}/card"


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


# The task list's lines, in the order a board works through them (issue 20).
APPROVAL_TASKS = ("Acceptance thresholds met", "Waivers recorded", "Approval recorded")


def approval_state(session: Session, version: str) -> ApprovalState:  # noqa: ARG001 - for issue 17
    """The approval of `version`: thresholds met, waivers, the approval recorded.

    Wire-up point for issue 17: read the version's approvals and fairness report here.
    """
    return ApprovalState(
        available=False, summary=NOT_AVAILABLE,
        tasks=tuple(ApprovalTask(name, status="Not available in this build")
                    for name in APPROVAL_TASKS))
