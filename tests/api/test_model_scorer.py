"""The service with a real model: full explained results, batch parity, model card, metrics."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.case_payload import CasePayload
from api.model_scorer import load_scorer
from api.schemas import DECISION_SUPPORT_NOTICE
from api.store import init_db
from data_contracts.vocab import AGENCIES, EVENT_TYPES
from model.explain import AGENCY_GROUPS
from model.score import rate_table
from pipelines.case import build_case_features, case_payload_from_frames
from tests.api.conftest import ApiEnv, TrainedModel, make_settings, record_test_approval


def payload(model: TrainedModel, referral_id: str) -> dict[str, Any]:
    """The JSON body a hub would send for one referral of the training extract."""
    case = case_payload_from_frames(model.prepared.feeds, referral_id)
    return json.loads(json.dumps(case, default=str))  # dates as the ISO strings sent on the wire


def busy_referrals(model: TrainedModel, n: int) -> list[str]:
    """Referrals with records from several agencies (their explanations have most to say)."""
    features = model.prepared.features
    held = features[[f"{a}_records_held" for a in AGENCIES]].sum(axis=1)
    return features.loc[held >= 3, "referral_id"].astype(str).head(n).tolist()


def batch_rating(model: TrainedModel, referral_id: str) -> dict[str, Any]:
    """The batch job's rating of a referral (features from the whole extract)."""
    features = model.prepared.features
    row = features[features["referral_id"].astype(str) == referral_id]
    table = rate_table(model.loaded.model, row, model_version=model.version)
    return dict(table.iloc[0])


def score(model_api: ApiEnv, model: TrainedModel, referral_id: str) -> Response:
    """POST /v1/score of a referral's payload, as a triage worker."""
    return model_api.client.post(
        "/v1/score", json=payload(model, referral_id), headers=model_api.headers("triage"))


def test_score_returns_the_full_explained_result(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    referral_id = busy_referrals(trained_model, 1)[0]
    response = score(model_api, trained_model, referral_id)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["referral_id"] == referral_id
    assert (result["model_name"], result["model_version"]) == (
        trained_model.registry.model_name, trained_model.version)
    assert 1 <= result["score"] <= 20 and 0.0 <= result["probability"] <= 1.0
    bands = {b.name: b for b in trained_model.loaded.model.governance.bands}
    assert result["rag"] == bands[result["band"]].rag
    assert result["response_timescale"] == bands[result["band"]].response_timescale
    assert result["top_factors"] and all(
        f["sentence"] and f["direction"] in ("raises", "lowers") for f in result["top_factors"])
    assert set(result["contributions_by_agency"]) == set(AGENCY_GROUPS)
    total = result["base_value"] + sum(result["contributions_by_agency"].values())
    assert total == pytest.approx(result["raw_score"], abs=1e-6)
    assert set(result["agencies_not_seen"]) <= set(AGENCIES)
    assert result["decision_support_notice"] == DECISION_SUPPORT_NOTICE
    assert "calibration then maps" in result["explanation_note"]


@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_served_score_equals_the_batch_rating_of_the_same_referral(
    model_api: ApiEnv, trained_model: TrainedModel, position: int
) -> None:
    referral_id = busy_referrals(trained_model, 3)[position]
    served = score(model_api, trained_model, referral_id).json()
    batch = batch_rating(trained_model, referral_id)
    assert served["probability"] == pytest.approx(batch["probability"], abs=1e-9)
    assert (served["score"], served["band"], served["rag"]) == (
        batch["score"], batch["band"], batch["rag"])
    assert [e["rule"] for e in served["escalations"]] == json.loads(batch["escalations"])
    assert served["model_band"] == batch["model_band"]


def test_a_checked_case_hands_on_columns_that_give_the_features_of_its_records(
    trained_model: TrainedModel,
) -> None:
    outsider = {"agency": "health", "person_id": "not-in-the-household",
                "event_date": "2020-01-01", "event_type": EVENT_TYPES["health"][0]}
    for referral_id in busy_referrals(trained_model, 5):
        body = payload(trained_model, referral_id)
        body["events"].insert(len(body["events"]) // 2, outsider)
        checked = CasePayload.model_validate(body).pipeline_payload()
        assert checked["event_columns"] is not None
        assert len(checked["event_columns"].person_id) == len(body["events"])
        np.testing.assert_array_equal(build_case_features(checked), build_case_features(body))


def test_batch_scoring_gives_each_case_its_single_result_in_order(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    referral_ids = busy_referrals(trained_model, 3)
    cases = [payload(trained_model, r) for r in reversed(referral_ids)]
    headers = model_api.headers("admin")
    response = model_api.client.post("/v1/score/batch", json={"cases": cases}, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["referral_id"] for r in results] == list(reversed(referral_ids))
    for case, result in zip(cases, results, strict=True):
        single = model_api.client.post("/v1/score", json=case, headers=headers).json()
        assert result["probability"] == pytest.approx(single["probability"], abs=1e-12)
        assert result["top_factors"] == single["top_factors"]


def test_model_endpoint_gives_version_training_date_metrics_and_limits(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    response = model_api.client.get("/v1/model", headers=model_api.headers("data_scientist"))
    assert response.status_code == 200
    card = response.json()
    assert card["ready"] is True and card["version"] == trained_model.version
    assert card["served_alias"] == "champion" and card["trained_at"]
    assert 0.5 < card["headline_metrics"]["test_roc_auc"] <= 1.0
    assert "practitioner decides" in card["intended_use"]
    assert card["limitations"] and card["bands"]


def test_readyz_names_the_verified_model(model_api: ApiEnv, trained_model: TrainedModel) -> None:
    response = model_api.client.get("/readyz")
    assert response.status_code == 200
    reason = response.json()["checks"]["model"]["reason"]
    assert f"version {trained_model.version}" in reason and "checksum verified" in reason


def test_metrics_name_the_model_version_and_count_scores_by_band(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    referral_id = busy_referrals(trained_model, 1)[0]
    band = score(model_api, trained_model, referral_id).json()["band"]
    text = model_api.client.get("/metrics").text
    name = trained_model.registry.model_name
    assert f'safeguard_model_info{{name="{name}",version="{trained_model.version}"}} 1.0' in text
    assert "safeguard_model_ready 1.0" in text
    assert f'safeguard_scores_total{{band="{band}",' in text


def test_a_quiet_service_counts_every_band_of_its_model_from_zero(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    """Before its first score a service shows each of its model's bands at 0 (an alert on
    a band's rate has a series to read), and only the bands its model has."""
    url = f"sqlite:///{tmp_path / 'quiet.db'}"
    init_db(url)
    settings = make_settings(url, **trained_model.settings_overrides())
    record_test_approval(url, trained_model.registry, trained_model.version)
    with TestClient(create_app(settings, load_scorer(settings))) as client:
        text = client.get("/metrics").text
    counted = re.findall(r'^safeguard_scores_total\{band="([^"]+)",rag="([^"]+)"\} (\S+)$',
                         text, flags=re.MULTILINE)
    governed = [(band.name, band.rag) for band in trained_model.loaded.model.governance.bands]
    assert sorted((band, rag) for band, rag, _ in counted) == sorted(governed)
    assert {value for _, _, value in counted} == {"0.0"}


def test_served_factors_name_their_features_and_the_reference(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    from model.reference import COMPARED_WITH
    from pipelines.manifest import SPECS_BY_NAME

    result = score(model_api, trained_model, busy_referrals(trained_model, 1)[0]).json()
    assert result["compared_with"] == COMPARED_WITH
    for factor in result["top_factors"]:
        assert factor["feature"] in factor["features"]
        # One concern (or one feature) per factor, all from the factor's agency.
        assert len({SPECS_BY_NAME[n].concern for n in factor["features"]}) == 1
        assert {SPECS_BY_NAME[n].agency for n in factor["features"]} == {factor["agency"]}


def test_earlier_referrals_to_the_hub_are_not_social_cares_information(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """A case whose social care shared nothing but whose subject was referred before: the
    earlier referrals count with the referral's details, never as social care's records
    (a probe found social care "not seen" yet contributing, with a social-care factor)."""
    features = trained_model.prepared.features
    referral_id = str(features.loc[features["subject_previous_referrals_ever"] >= 2,
                                   "referral_id"].iloc[0])
    case = payload(trained_model, referral_id)
    case["events"] = [e for e in case["events"] if e["agency"] != "social_care"]
    assert case["previous_referrals"]
    response = model_api.client.post("/v1/score", json=case, headers=model_api.headers("triage"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert "social_care" in result["agencies_not_seen"]
    assert result["contributions_by_agency"]["social_care"] == pytest.approx(0.0, abs=1e-9)
    assert all(f["agency"] != "social_care" for f in result["top_factors"])
    history = [f for f in result["top_factors"]
               if "subject_previous_referrals_ever" in f["features"]]
    assert all(f["agency"] == "referral" for f in history)


def test_records_known_only_after_the_referral_are_not_counted_and_the_result_says_so(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    referral_id = busy_referrals(trained_model, 1)[0]
    case = payload(trained_model, referral_id)
    before = model_api.client.post("/v1/score", json=case,
                                   headers=model_api.headers("triage")).json()
    day = dt.date.fromisoformat(case["referral"]["referral_date"])
    later = dict(case["events"][0], event_date=str(day + dt.timedelta(days=3)),
                 recorded_date=None)
    known_late = dict(case["events"][0], event_date=str(day - dt.timedelta(days=3)),
                      recorded_date=str(day + dt.timedelta(days=1)))
    case["events"] = [*case["events"], later, known_late]
    after = model_api.client.post("/v1/score", json=case, headers=model_api.headers("triage"))
    assert after.status_code == 200, after.text
    result = after.json()
    assert (result["score"], result["raw_score"]) == (before["score"], before["raw_score"])
    [said] = [w for w in result["warnings"] if "not counted" in w]
    assert said.startswith("2 records were not counted: known only after the referral date")
    assert not [w for w in before["warnings"] if "not counted" in w]


def test_a_record_of_childhood_about_an_old_adult_is_counted_and_the_result_says_so(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """The scorer adds `api.age_doubtful`'s warning to a served score (7 December)."""
    case = payload(trained_model, busy_referrals(trained_model, 1)[0])
    day = dt.date.fromisoformat(case["referral"]["referral_date"]) - dt.timedelta(days=30)
    case["referral"] |= {"subject_type": "adult_at_risk", "age_years": 70}
    case["events"] = [*case["events"], {
        "agency": "education", "person_id": case["referral"]["person_id"],
        "event_type": "free_school_meals", "event_date": str(day), "recorded_date": str(day),
        "value": None}]
    answer = model_api.client.post("/v1/score", json=case, headers=model_api.headers("triage"))
    assert answer.status_code == 200, answer.text
    [said] = [w for w in answer.json()["warnings"] if "kept only about children" in w]
    assert said.startswith("1 record about the person referred is of a kind kept only about "
                           "children, dated when this person was 20 or older")


def test_what_a_case_names_no_one_for_is_not_counted_and_the_result_says_so(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    referral_id = busy_referrals(trained_model, 1)[0]
    case = payload(trained_model, referral_id)
    headers = model_api.headers("triage")
    before = model_api.client.post("/v1/score", json=case, headers=headers).json()
    day = dt.date.fromisoformat(case["referral"]["referral_date"])
    stranger = dict(case["events"][0], person_id="NOTINCASE1")
    later = {"referral_id": "LATER-1", "person_id": case["referral"]["person_id"],
             "referral_date": str(day + dt.timedelta(days=2))}
    same_day = {**later, "referral_id": "SAME-DAY-1", "referral_date": str(day)}
    unnamed = {"referral_id": "OTHER-1", "person_id": "NOTINCASE1",
               "referral_date": str(day - dt.timedelta(days=30))}
    case["events"] = [*case["events"], stranger, stranger]
    case["previous_referrals"] = [*case["previous_referrals"], later, same_day, unnamed]
    after = model_api.client.post("/v1/score", json=case, headers=headers)
    assert after.status_code == 200, after.text
    result = after.json()
    assert (result["score"], result["raw_score"]) == (before["score"], before["raw_score"])
    said = [w for w in result["warnings"] if "not counted" in w]
    assert any(w.startswith("2 earlier referrals were not counted: dated on or after this "
                            "referral's date") for w in said), said
    assert any(w.startswith("2 records and 1 earlier referral about people this case does "
                            "not name") for w in said), said


def test_household_members_without_the_household_are_refused(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    [referral_id] = [r for r in busy_referrals(trained_model, 20)
                     if payload(trained_model, r)["household_members"]][:1]
    case = payload(trained_model, referral_id)
    case["referral"]["household_id"] = None
    refused = model_api.client.post("/v1/score", json=case, headers=model_api.headers("triage"))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["field"] == "referral.household_id"
    assert "household_members are listed" in error["message"]


def test_a_case_naming_no_household_is_told_its_household_is_not_known(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """Served as the batch job explains it: the household factors of a referral without a
    household_id say what could not be counted (a probe found "No parents or carers in the
    household" for 501 of 1,219 such referrals), with no value; the warning says why
    (`tests/api/test_household_warning.py`)."""
    from model.household_sentences import unnamed_household_sentence
    from model.service import explainer_for
    from pipelines.manifest import SPECS_BY_NAME

    features = trained_model.prepared.features
    model = trained_model.loaded.model
    every = rate_table(model, features[features["household_known"] == 0],
                       model_version=trained_model.version, explainer=explainer_for(model),
                       n_jobs=1)
    # those the batch explains with a household factor first (which referrals those are
    # depends on the model the suite trains), then others, twelve in all
    about_household = every["top_factors"].map(lambda text: any(
        all(SPECS_BY_NAME[n].about_household_members for n in factor["features"])
        for factor in json.loads(text)))
    batch = pd.concat([every[about_household].head(8), every[~about_household].head(4)])
    household = 0
    for referral_id, factors in zip(batch["referral_id"], batch["top_factors"], strict=True):
        case = payload(trained_model, referral_id)
        assert not case["referral"].get("household_id") and not case["household_members"]
        served = model_api.client.post("/v1/score", json=case,
                                       headers=model_api.headers("triage")).json()
        assert served["top_factors"] == json.loads(factors)
        # An adult at risk's household children are not "other" children.
        subject = "adult" if case["referral"]["subject_type"] == "adult_at_risk" else "child"
        for factor in served["top_factors"]:
            if all(SPECS_BY_NAME[n].about_household_members for n in factor["features"]):
                assert factor["sentence"] == unnamed_household_sentence(
                    factor["features"], factor["contribution"], subject=subject)
                assert factor["value"] is None
                household += 1
    assert household
