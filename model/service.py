"""Live scoring of case payloads: features -> rating -> explanation, as plain records.

The API's scorer wraps `CaseScorer`; nothing here knows HTTP, and explanations
leave as typed records (`model.explain`), never as SHAP objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from model.card_evaluation import evaluated_on
from model.card_text import INTENDED_USE, LIMITATIONS
from model.explain import CaseExplainer, Explanation
from model.governance import EscalationRule
from model.late_warning import trained_late
from model.registry_records import LoadedModel
from model.risk_model import RiskModel
from model.sentences import CONTRIBUTIONS_NOTE
from pipelines.case import build_cases_features
from pipelines.manifest import FEATURE_NAMES


@dataclass(frozen=True)
class CaseRating:
    """One case's rating with its explanation and the escalation rules that fired."""

    referral_id: str
    probability: float
    score: int
    band: str
    model_band: str
    rag: str
    response_timescale: str
    escalations: list[EscalationRule]
    explanation: Explanation


def explainer_for(model: RiskModel) -> CaseExplainer:
    """The explainer of a model, with the factor counts its governance settings ask for."""
    governance = model.governance
    explainer = CaseExplainer(model.classifier, FEATURE_NAMES, reference=model.reference,
                              model_features=model.feature_names,
                              top_raising=governance.top_raising_factors,
                              top_lowering=governance.top_lowering_factors,
                              usual_agencies=governance.usual_agencies or None,
                              reference_name=governance.explanation_reference)
    # A case scored alone is warned of the agencies late at training; an extract's
    # explainer (`CaseExplainer.for_extract`) judges by the extract's own records.
    explainer.notices = trained_late(model.metadata)
    return explainer


class CaseScorer:
    """Rates and explains live cases with one loaded model version."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.explainer = explainer_for(self.model)

    @property
    def name(self) -> str:
        """The registered model name."""
        return self.loaded.info.name

    @property
    def version(self) -> str:
        """The registered version number."""
        return self.loaded.info.version

    def rate_cases(self, payloads: Sequence[Mapping[str, Any]]) -> list[CaseRating]:
        """Rate and explain cases given as payloads (see `pipelines.case`)."""
        if not payloads:
            return []
        features = build_cases_features(payloads)
        explanations = self.explainer.explain(features)
        ratings = self.model.rate(
            features, raw_score=np.array([e.raw_score for e in explanations]))
        bands = self.model.governance.bands
        rated = []
        for i, payload in enumerate(payloads):
            band, model_band = bands[int(ratings.band[i])], bands[int(ratings.model_band[i])]
            rated.append(CaseRating(
                referral_id=str(payload["referral"]["referral_id"]),
                probability=float(ratings.probability[i]), score=int(ratings.score[i]),
                band=band.name, model_band=model_band.name, rag=band.rag,
                response_timescale=band.response_timescale,
                escalations=list(ratings.escalations[i]), explanation=explanations[i],
            ))
        return rated

    def model_card(self) -> dict[str, Any]:
        """Version, training date, headline metrics, intended use and limitations."""
        metadata = self.model.metadata
        return {
            "name": self.name,
            "version": self.version,
            "aliases": list(self.loaded.info.aliases),
            "trained_at": metadata.get("trained_at"),
            "extract_date": metadata.get("extract_date"),
            "headline_metrics": metadata.get("headline_metrics", {}),
            # Which referrals those figures come from, the whole test period's beside.
            "evaluated_on": asdict(evaluated_on(self.loaded.info.metrics)),
            "calibration": self.model.calibrator.method,
            "features": len(self.model.feature_names),
            "uses_protected_characteristics":
                self.model.governance.use_protected_characteristics,
            "bands": [band.model_dump() for band in self.model.governance.bands],
            "escalation_rules": [rule.model_dump() for rule in
                                 self.model.governance.escalation_rules],
            "intended_use": INTENDED_USE,
            "limitations": LIMITATIONS,
            "explanation_note": CONTRIBUTIONS_NOTE,
        }
