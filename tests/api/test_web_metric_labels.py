"""The governance pages name a version's metrics as the model card does: until 6 December
the versions table's headings read "test roc auc", "test ece" and "baseline roc auc",
and a version's page listed "n iter" and "test period n"."""

from __future__ import annotations

import re

import pytest

from api.templating import metric_label
from tests.api.conftest import ApiEnv, TrainedModel
from tests.api.web_client import signed_in_client


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("test_roc_auc", "Test ROC AUC"),
        ("baseline_roc_auc", "Baseline ROC AUC"),
        ("test_ece", "Test ECE"),
        ("test_brier", "Test Brier"),
        ("test_average_precision", "Test average precision"),
        ("test_period_n", "Test period referrals"),
        ("n_iter", "Boosting iterations"),
        ("calibration_brier_isotonic", "Calibration Brier isotonic"),
    ],
)
def test_a_metric_is_named_as_the_model_card_names_it(name: str, label: str) -> None:
    assert metric_label(name) == label


def test_the_governance_pages_name_metrics_in_words(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    listing = browser.get("/governance").text
    version = browser.get(f"/governance/versions/{trained_model.version}").text
    headings = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', listing)
    keys = re.findall(r'<dt class="govuk-summary-list__key">([^<]+)</dt>', version)
    assert "Test ROC AUC" in headings and "Baseline ROC AUC" in headings
    assert "Test ROC AUC" in [key.strip() for key in keys]
    assert not [text for text in headings + keys if re.search(r"\broc auc\b|\bece\b", text)]
