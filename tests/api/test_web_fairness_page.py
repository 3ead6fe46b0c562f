"""The fairness page says which audit each figure comes from: the report shown is the
test-period evaluation made at training, and the approval gate judges the whole-extract
audit recorded with the version (`safeguard audit fairness`), whose findings the page
shows too, or says is missing."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.model_card import log_card
from api.store import init_db
from model.audit_acceptance import FAIRNESS_AUDIT_RECORDED
from model.card_sources import TRAINING_REPORT
from model.registry import ModelRegistry
from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT, FAIRNESS_ARTIFACT
from tests.api.conftest import (
    ApiEnv,
    TrainedModel,
    issue_keys,
    make_settings,
    register_copy,
    registry_settings,
)
from tests.api.fakes import FakeScorer
from tests.api.web_client import signed_in_client


def _text(page: str) -> str:
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


@dataclass
class Audited:
    """An app over a copy of the trained version: its test-period audit and training
    report logged as training logs them, no whole-extract audit recorded yet."""

    api: ApiEnv
    registry: ModelRegistry
    version: str
    test_period: dict  # type: ignore[type-arg]


@pytest.fixture
def audited(trained_model: TrainedModel, tmp_path: Path) -> Iterator[Audited]:
    loaded = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", loaded.model, loaded.golden,
                                      alias=None)
    run_id = registry.resolve(version).run_id
    for path in (FAIRNESS_ARTIFACT, TRAINING_REPORT):
        written = trained_model.registry.read_artifact(trained_model.version, path)
        assert written is not None, path
        registry.log_text(run_id, written.decode("utf-8"), path)
    log_card(registry, registry.resolve(version), board=None)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    settings = make_settings(url, **registry_settings(registry))
    keys, revoked = issue_keys(settings)
    test_period = json.loads(registry.read_artifact(version, FAIRNESS_ARTIFACT) or b"{}")
    with TestClient(create_app(settings, FakeScorer())) as client:
        yield Audited(ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings),
                      registry, version, test_period)


def _whole_extract_audit(test_period: dict) -> dict:  # type: ignore[type-arg]
    """A recorded whole-extract audit: the test-period one's groups over 4,090 referrals
    of an extract, with the probe's finding on Black subjects (their risk predicted 10.1
    points below the observed rate beside the overall gap)."""
    document = json.loads(json.dumps(test_period))
    document.update({"n_labelled": 4_090, "generated_at": "2026-12-06T09:15:00Z",
                     "audited": {"extract_date": "2026-11-30", "referrals_from": "2023-01-02",
                                 "referrals_to": "2026-05-29", "since": None,
                                 "labelled_in_extract": 4_090}})
    [black] = [g for g in document["groups"] if g["attributes"] == {"ethnicity_group": "black"}]
    black.update({"calibration_gap_beyond_overall": -0.101,
                  "calibration_gap_beyond_overall_ci": [-0.118, -0.080],
                  "flags": [f for f in (*black["flags"], "miscalibrated") if f != "too_small"],
                  "possible_flags": [],
                  "chance_flags": [], "n": 2_100})
    return document


def test_the_fairness_page_says_which_audit_each_figure_comes_from(audited: Audited) -> None:
    """As governance, the page said "654 referrals ... 2 groups have a finding", never that
    this was the test period alone, nor what the whole-extract audit the gate judged
    (4,090 referrals, 12 groups with findings) found."""
    browser = signed_in_client(audited.api.client, audited.api.keys["governance"])
    address = f"/governance/versions/{audited.version}/fairness"
    shown = f"{audited.test_period['n_labelled']:,} referrals with a known outcome"

    before = _text(browser.get(address).text)

    assert f"This report is the test-period evaluation at training: {shown}" in before
    assert "of the model's test period (from " in before
    assert "What the test-period audit found" in before
    judged = before.split("Judged for approval", 1)[1]
    assert judged.startswith(f" None recorded. The approval gate judges the whole-extract "
                             f"audit, and without one its check {FAIRNESS_AUDIT_RECORDED} "
                             "is not met: it will not approve this version without the audit")
    assert "safeguard audit fairness --model VERSION --input EXTRACT" in judged

    audit = _whole_extract_audit(audited.test_period)
    audited.registry.log_text(audited.registry.resolve(audited.version).run_id,
                              json.dumps(audit), EXTRACT_AUDIT_ARTIFACT)
    page = browser.get(address)
    after = _text(page.text)

    assert page.status_code == 200
    judged = after.split("Judged for approval", 1)[1].split("What the whole-extract", 1)[0]
    assert ("The whole-extract audit safeguard audit fairness recorded with this version: "
            "the extract of 2026-11-30, 4,090 referrals with a known outcome (dated 2023-01-02 "
            "to 2026-05-29); audited 6 December 2026, 09:15 UTC.") in judged
    assert "1 group has a finding, as the next section says." in judged
    found = after.split("What the whole-extract audit found (judged for approval)", 1)[1]
    found = found.split("What the test-period audit found", 1)[0]
    assert re.search(r"\d+ groups? ha(s|ve) a finding in the whole-extract audit", found)
    assert "Black subjects" in found
    assert f"This report is the test-period evaluation at training: {shown}" in after
    # The same audit the approval task list judges, by its count.
    task_list = _text(browser.get(f"/governance/versions/{audited.version}/approval").text)
    assert "4,090 labelled referrals" in task_list
