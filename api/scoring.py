"""How the API reaches a model: the `Scorer` protocol.

The model package implements it (loading the registered champion, computing
features with the pipelines, explaining); the API only calls it. `NoModel`
stands in until a model is wired in, so the service starts and says why it is
not ready instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from api.case_payload import CasePayload
from api.schemas import ScoreResult


class ModelUnavailable(RuntimeError):
    """Raised by a scorer that cannot score now; the API answers 503 with the reason."""


@runtime_checkable
class Scorer(Protocol):
    """A model that scores referrals and explains each score."""

    @property
    def name(self) -> str:
        """The model's registered name."""
        ...

    @property
    def version(self) -> str:
        """The version that scores (each result names it too)."""
        ...

    def readiness(self) -> tuple[bool, str]:
        """Whether the scorer can score now, and why not when it cannot."""
        ...

    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        """Score cases, one result per case in the same order."""
        ...

    def model_info(self) -> dict[str, Any]:
        """Version, training date, headline metrics, intended use and limitations."""
        ...


class NoModel:
    """The scorer used when no model is available: never ready, says why."""

    name = "none"
    version = "none"

    def __init__(self, reason: str = "no model is loaded") -> None:
        self.reason = reason

    def readiness(self) -> tuple[bool, str]:
        """Never ready."""
        return False, self.reason

    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        """Refuse to score."""
        raise ModelUnavailable(self.reason)

    def model_info(self) -> dict[str, Any]:
        """Describe the absence of a model."""
        return {"name": self.name, "version": self.version, "ready": False, "reason": self.reason}


def not_serving(model_name: str, alias: str, why: str) -> str:
    """The reason `/readyz` gives for not serving the model an alias names."""
    return f"not serving {model_name!r} ({alias}): {why}"
