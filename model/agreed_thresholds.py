"""The acceptance thresholds a version is judged against: the stricter, one by one, of
those it was trained under and those of the board's governance settings in force.

A version records the governance settings it was trained with, acceptance thresholds
included, and whoever trains it chooses that file (`safeguard train --governance FILE`).
The board's are the service's (SAFEGUARD_GOVERNANCE_SETTINGS_PATH; the shipped
`model/governance.toml` when unset). A threshold loosened at training (a lower minimum,
a higher maximum) is judged at the board's figure, and its check says so, met or not;
one tightened at training is judged as trained. Without a board (None) a version is
judged as trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from model.audit_acceptance import AUDIT_PREFIX
from model.governance import AcceptanceThresholds
from model.threshold_checks import ThresholdCheck

# A threshold's name says which way is looser: a lower `min_`, a higher `max_`.
_MINIMUM = "min_"


def looser_than_board(trained: AcceptanceThresholds, board: AcceptanceThresholds
                      ) -> dict[str, float]:
    """Each threshold `trained` sets looser than `board`, with the trained figure."""
    found = {}
    for name in AcceptanceThresholds.model_fields:
        mine, theirs = getattr(trained, name), getattr(board, name)
        if mine < theirs if name.startswith(_MINIMUM) else mine > theirs:
            found[name] = float(mine)
    return found


def agreed_thresholds(trained: AcceptanceThresholds, board: AcceptanceThresholds | None
                      ) -> tuple[AcceptanceThresholds, dict[str, float]]:
    """The thresholds to judge a version against (the stricter of each), and those it
    was trained under looser than the board's, with the trained figure."""
    if board is None:
        return trained, {}
    looser = looser_than_board(trained, board)
    return trained.model_copy(update={name: getattr(board, name) for name in looser}), looser


def board_note(name: str, trained: float) -> str:
    """What a check judged at the board's figure says (`name`: the check's)."""
    side = ">=" if name.removeprefix(AUDIT_PREFIX).startswith(_MINIMUM) else "<="
    return f"the board's threshold: the version was trained under {side} {trained:g}"


def board_notes(checks: Sequence[ThresholdCheck], looser: dict[str, float]
                ) -> list[ThresholdCheck]:
    """The checks, each judged at the board's figure saying what it was trained under."""
    noted = []
    for check in checks:
        # A check of the fairness audit of an extract judges the threshold it is named after.
        name = check.name.removeprefix(AUDIT_PREFIX)
        if name in looser:
            note = board_note(name, looser[name])
            check = replace(check, detail=f"{check.detail}; {note}" if check.detail else note,
                            trained_threshold=looser[name])
        noted.append(check)
    return noted
