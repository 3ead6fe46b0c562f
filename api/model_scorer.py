"""The registered model behind the API: `ModelScorer` and `load_scorer`.

`load_scorer` loads the version the settings' alias names (checksum verified,
golden set re-scored, a valid approval recorded for exactly its content, one warm-up
case explained) and returns a `ModelScorer`;
when anything fails it returns `NoModel` with the reason, so the service starts,
answers 503 and says why on `/readyz` instead of serving an unknown model (a registry
that cannot be reached is said to be so, not taken for one without the model).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from api.age_doubtful import age_doubtful_warnings
from api.approvals import gate_problem_in
from api.case_payload import CasePayload
from api.schemas import Escalation, Factor, ScoreResult
from api.scoring import NoModel, Scorer, not_serving
from api.settings import Settings, settings_registry
from api.uncounted import uncounted_warnings
from model.registry import RegistryError, RegistryUnavailable
from model.registry_records import LoadedModel
from model.service import CaseRating, CaseScorer

logger = logging.getLogger(__name__)


class ModelScorer:
    """Scores API cases with one loaded model version (a `Scorer`)."""

    def __init__(self, case_scorer: CaseScorer, *, alias: str = "") -> None:
        self.case_scorer = case_scorer
        self.alias = alias
        self.name = case_scorer.name
        self.version = case_scorer.version

    def readiness(self) -> tuple[bool, str]:
        """Always ready: a scorer exists only for a model that passed its checks."""
        golden = len(self.case_scorer.loaded.golden)
        via = f" (alias {self.alias!r})" if self.alias else ""
        return True, (f"{self.name} version {self.version}{via} loaded: checksum verified, "
                      f"{golden} golden cases reproduced")

    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        """Rate and explain cases through the batch feature definitions; a case holding
        what the score does not count (records known only after its referral date, say)
        is told so (`api.uncounted`)."""
        payloads = [case.pipeline_payload() for case in cases]
        results = [self._result(rating) for rating in self.rate_payloads(payloads)]
        for case, payload, result in zip(cases, payloads, results, strict=True):
            result.warnings.extend(uncounted_warnings(case, payload["event_columns"]))
            result.warnings.extend(age_doubtful_warnings(case, payload["event_columns"]))
        return results

    def rate_payloads(self, payloads: Sequence[Mapping[str, Any]]) -> list[CaseRating]:
        """Rate and explain payload dicts (as `pipelines.case` reads them).

        A case is rated on the calling thread (`model.forest_predict` starts threads only
        for 40,000 rows or more) and explained with the classifier on one OpenMP thread
        (`model.risk_model.one_openmp_thread`), so a request does not fight the server's
        own threads for the cores.
        """
        return self.case_scorer.rate_cases(payloads)

    def model_info(self) -> dict[str, Any]:
        """Version, training date, headline metrics, intended use and limitations."""
        return {**self.case_scorer.model_card(), "served_alias": self.alias or None}

    def _result(self, rating: CaseRating) -> ScoreResult:
        explanation = rating.explanation
        return ScoreResult(
            referral_id=rating.referral_id,
            model_name=self.name,
            model_version=self.version,
            probability=rating.probability,
            score=rating.score,
            band=rating.band,
            rag=rating.rag,  # type: ignore[arg-type]  # governance bands allow only the three
            response_timescale=rating.response_timescale,
            model_band=rating.model_band,
            escalations=[
                Escalation(rule=rule.name, description=rule.description,
                           minimum_band=rule.minimum_band)
                for rule in rating.escalations
            ],
            top_factors=[
                Factor(feature=f.feature, value=f.value, contribution=f.contribution,
                       direction=f.direction, agency=f.agency, sentence=f.sentence,
                       features=list(f.features))
                for f in explanation.top_factors
            ],
            contributions_by_agency=dict(explanation.contributions_by_agency),
            agencies_not_seen=list(explanation.agencies_not_seen),
            warnings=list(explanation.warnings),
            raw_score=explanation.raw_score,
            base_value=explanation.base_value,
            compared_with=explanation.compared_with,
        )


def scorer_for(loaded: LoadedModel, *, alias: str = "") -> ModelScorer:
    """A scorer for a loaded model, warmed up on its golden cases (explanations included)."""
    scorer = ModelScorer(CaseScorer(loaded), alias=alias)
    scorer.rate_payloads([case["payload"] for case in loaded.golden])
    return scorer


def load_scorer(settings: Settings) -> Scorer:
    """The model the settings' alias names, or `NoModel` with the reason it cannot serve."""
    alias = settings.model_alias
    try:
        registry = settings_registry(settings)
        loaded = registry.load(alias)
        if problem := gate_problem_in(settings, registry, loaded.info.version):
            raise RegistryError(not_serving(settings.model_name, alias, problem))
        scorer = scorer_for(loaded, alias=alias)
    except RegistryUnavailable as exc:  # /readyz says why to anyone: the log says where
        logger.error("%s", exc)
        reason = not_serving(settings.model_name, alias, RegistryUnavailable.WITHOUT_ADDRESS)
    except RegistryError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure means "do not serve this model"
        reason = f"model {settings.model_name!r} ({alias}) could not be loaded: " \
                 f"{type(exc).__name__}: {exc}"
    else:
        logger.info("serving %s version %s (alias %s)", scorer.name, scorer.version, alias)
        return scorer
    logger.error("not serving any model: %s", reason)
    return NoModel(reason)
