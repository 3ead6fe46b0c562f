"""A rating made without the household's members warns of it every time, whatever its top
factors: in the batch output's warnings column, the API's /v1/score response and the case
page (which shows the API's warnings). An independent probe found the household named in
58.6% of 1,521 referrals without a household_id, only where a household factor happened to
be among the top factors; R11-000036 was rated medium with ``warnings: []``. The same
warning is given when a household is named but household_members lists nobody in it (or
the extract has no household_members feed): `household_known` is 0 either way
(`pipelines.features.household_listed`). A rating with its household known has none."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from model.data import prepare_extract
from model.household_sentences import UNNAMED_HOUSEHOLD_WARNING
from model.score import rate_table
from model.service import explainer_for
from pipelines.manifest import SPECS_BY_NAME
from pipelines.phrases import UNNAMED_HOUSEHOLD
from tests.api import factories
from tests.api.conftest import ApiEnv, TrainedModel
from tests.api.web_client import signed_in_client


def _rated(model: TrainedModel, features: pd.DataFrame) -> pd.DataFrame:
    loaded = model.loaded.model
    return rate_table(loaded, features, model_version=model.version,
                      explainer=explainer_for(loaded), n_jobs=1)


def _names_household(top_factors: str) -> bool:
    return any(all(SPECS_BY_NAME[n].about_household_members for n in factor["features"])
               or factor["features"] == ["household_known"]
               for factor in json.loads(top_factors))


def _said(row: pd.Series | dict[str, Any]) -> str:
    factors = row["top_factors"]
    factors = json.loads(factors) if isinstance(factors, str) else factors
    warnings = row["warnings"]
    warnings = json.loads(warnings) if isinstance(warnings, str) else warnings
    return " | ".join([*warnings, *(f["sentence"] for f in factors)])


def test_every_batch_rating_without_its_household_warns_whatever_its_top_factors(
        trained_model: TrainedModel) -> None:
    features = trained_model.prepared.features
    table = _rated(trained_model, features)
    unknown = (features["household_known"] == 0).to_numpy()
    warned = table["warnings"].map(lambda text: UNNAMED_HOUSEHOLD_WARNING in json.loads(text))
    assert unknown.sum() >= 20
    assert (warned.to_numpy() == unknown).all()
    assert (table["warnings"].map(lambda t: json.loads(t).count(UNNAMED_HOUSEHOLD_WARNING))
            <= 1).all()
    # Once per rating: the warning carries the words, no factor's sentence repeats them.
    assert (table.apply(_said, axis=1).str.count(UNNAMED_HOUSEHOLD) == unknown).all()
    # The probe's case: top factors that say nothing of the household, warned all the same.
    assert (~table.loc[unknown, "top_factors"].map(_names_household)).sum() >= 5


def test_every_rating_of_an_extract_without_household_members_warns(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """A household named but listed nowhere (no household_members feed): the same warning,
    on every rating, beside the command's closing note (`household_note`)."""
    partial = tmp_path / "no_household_members"
    partial.mkdir()
    for feed in trained_model.extract.iterdir():
        if not feed.name.startswith("household_members"):
            (partial / feed.name).symlink_to(feed)
    prepared = prepare_extract(partial, with_labels=False, keep_feeds=False)
    assert prepared.without_household and (prepared.features["household_known"] == 0).all()
    table = _rated(trained_model, prepared.features.head(300))
    assert table["warnings"].map(lambda t: json.loads(t).count(UNNAMED_HOUSEHOLD_WARNING)
                                 == 1).all()


def _served(api: ApiEnv, case: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The /v1/score result of a case and its case page's text."""
    scored = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert scored.status_code == 200, scored.text
    referral_id = case["referral"]["referral_id"]
    page = signed_in_client(api.client, api.keys["triage"]).get(f"/cases/{referral_id}")
    assert page.status_code == 200
    return scored.json(), " ".join(unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


@pytest.mark.parametrize("household", [
    pytest.param({"household_id": None}, id="no household_id"),
    pytest.param({"household_id": "H9"}, id="household listed nowhere"),
])
def test_a_live_case_without_its_household_warns_in_the_api_and_on_its_page(
        model_api: ApiEnv, household: dict[str, Any]) -> None:
    case = factories.case(events=3, **household)
    case["household_members"] = []
    result, page = _served(model_api, case)
    assert result["warnings"].count(UNNAMED_HOUSEHOLD_WARNING) == 1
    assert _said(result).count(UNNAMED_HOUSEHOLD) == 1
    assert page.count(UNNAMED_HOUSEHOLD) == 1


def test_a_live_case_with_its_household_known_has_no_such_warning(model_api: ApiEnv) -> None:
    case = factories.case(events=3)  # household H1, a parent or carer listed in it
    assert case["referral"]["household_id"] and case["household_members"]
    result, page = _served(model_api, case)
    assert UNNAMED_HOUSEHOLD not in _said(result) and UNNAMED_HOUSEHOLD not in page


def test_a_served_referral_without_a_household_is_warned_as_the_batch_warns_it(
        model_api: ApiEnv, trained_model: TrainedModel) -> None:
    """Referrals of the extract with no household_id whose top factors name no household:
    served, they are warned as their batch rows are."""
    from tests.api.test_model_scorer import payload

    features = trained_model.prepared.features
    table = _rated(trained_model, features[features["household_known"] == 0])
    quiet = table[~table["top_factors"].map(_names_household)].head(3)
    assert len(quiet)
    for referral_id, warnings in zip(quiet["referral_id"], quiet["warnings"], strict=True):
        case = payload(trained_model, referral_id)
        assert not case["referral"].get("household_id")
        served = model_api.client.post("/v1/score", json=case,
                                       headers=model_api.headers("triage")).json()
        assert UNNAMED_HOUSEHOLD_WARNING in json.loads(warnings)
        assert served["warnings"][:len(json.loads(warnings))] == json.loads(warnings)
