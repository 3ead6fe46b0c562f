"""The live path: a case payload is rated and explained exactly as its batch row."""

from __future__ import annotations

import json

import numpy as np

from model.data import PreparedExtract
from model.golden import build_golden_set
from model.registry import ModelRegistry
from model.score import rate_table
from model.service import CaseScorer, explainer_for
from model.train import TrainingResult
from pipelines.case import case_payload_from_frames


def _scorer(registry: ModelRegistry, trained: TrainingResult,
            prepared: PreparedExtract) -> CaseScorer:
    """The trained model registered with a small golden set, loaded as the service loads it."""
    run_id = registry.start_run("tests", run_name="service")
    golden = build_golden_set(trained.model, prepared.feeds, trained.test_ids,
                              trained.test_arrays["probability"], size=5)
    version = registry.register(run_id, trained.model, golden, description="t").version
    return CaseScorer(registry.load(version))


def test_live_and_batch_ratings_and_explanations_are_identical(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract) -> None:
    scorer = _scorer(registry, trained, prepared)
    version = scorer.version
    ids = trained.test_ids[:25]
    batch = rate_table(trained.model, prepared.features.set_index("referral_id").loc[ids]
                       .reset_index(), model_version=version,
                       explainer=explainer_for(trained.model), n_jobs=1)
    live = scorer.rate_cases([case_payload_from_frames(prepared.feeds, i) for i in ids])
    for row, case in zip(batch.itertuples(index=False), live, strict=True):
        assert (row.referral_id, row.score, row.band) == (case.referral_id, case.score,
                                                          case.band)
        assert row.probability == case.probability
        explanation = case.explanation
        assert row.raw_score == explanation.raw_score
        assert json.loads(row.top_factors) == [f.to_dict() for f in explanation.top_factors]
        by_agency = json.loads(row.contributions_by_agency)
        assert by_agency.keys() == explanation.contributions_by_agency.keys()
        assert np.allclose(list(by_agency.values()),
                           list(explanation.contributions_by_agency.values()), atol=1e-12)
        assert json.loads(row.agencies_not_seen) == explanation.agencies_not_seen


def test_the_model_card_states_use_limitations_and_metrics(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract) -> None:
    scorer = _scorer(registry, trained, prepared)
    card = scorer.model_card()
    assert card["version"] == scorer.version and "decides" in card["intended_use"]
    assert card["uses_protected_characteristics"] is False
    assert "log-odds" in card["explanation_note"]
