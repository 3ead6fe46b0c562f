"""A small deterministic scorer standing in for the model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.case_payload import CasePayload
from api.schemas import Escalation, Factor, ScoreResult
from data_contracts.vocab import AGENCIES
from model.registry_records import VersionInfo

_BANDS = ((5, "low", "green", "within 5 working days"), (12, "medium", "amber", "within 24 hours"))


# Rules of the default governance settings the fake fires when a case holds an event of
# the type (whatever its date or person): a rule reading household adults' records, and
# one reading the subject's only.
_RULES = {"dash_high_risk": ("recent_dash_high_risk", "high"),
          "child_protection_plan": ("current_child_protection_plan", "high")}


def _band(score: int) -> tuple[str, str, str]:
    for ceiling, band, rag, timescale in _BANDS:
        if score <= ceiling:
            return band, rag, timescale
    return "high", "red", "same day"


class FakeScorer:
    """Scores a case from its number of events: a pure function of the payload."""

    name = "fake-model"
    version = "7"

    def __init__(self, ready: bool = True) -> None:
        self.ready = ready

    def readiness(self) -> tuple[bool, str]:
        return (True, "fake model ready") if self.ready else (False, "fake model not loaded")

    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        return [self._score(case) for case in cases]

    def _score(self, case: CasePayload) -> ScoreResult:
        probability = min(len(case.events), 19) / 19
        score = 1 + round(probability * 19)
        band, rag, timescale = _band(score)
        seen = {event["agency"] for event in case.events}
        fired = sorted({_RULES[e["event_type"]] for e in case.events if e["event_type"] in _RULES})
        return ScoreResult(
            referral_id=case.referral.referral_id,
            model_name=self.name,
            model_version=self.version,
            probability=probability,
            score=score,
            band=band,
            rag=rag,  # type: ignore[arg-type]
            response_timescale=timescale,
            top_factors=[
                Factor(
                    feature="events_total",
                    value=len(case.events),
                    contribution=probability,
                    direction="raises",
                    agency=None,
                    sentence=f"{len(case.events)} agency records were shared.",
                )
            ],
            contributions_by_agency={agency: 0.0 for agency in sorted(seen)},
            agencies_not_seen=[agency for agency in AGENCIES if agency not in seen],
            raw_score=probability,
            base_value=0.0,
            escalations=[Escalation(rule=rule, description=f"the {rule} rule",
                                    minimum_band=band) for rule, band in fired],
        )

    def model_info(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "intended_use": "tests only"}


def fake_versions() -> list[VersionInfo]:
    """Two registered versions, the newer the champion, as the governance pages list them."""
    metrics = {"test_roc_auc": 0.81, "test_average_precision": 0.42, "test_brier": 0.07,
               "test_ece": 0.01, "baseline_roc_auc": 0.66}
    return [
        VersionInfo("fake-model", "7", ("champion",), 1_764_800_000_000, "run7", "source7", {},
                    metrics),
        VersionInfo("fake-model", "6", (), 1_764_700_000_000, "run6", "source6", {},
                    {name: value * 0.97 for name, value in metrics.items()}),
    ]
