"""What the card says of where the version came from: the feature manifest it was trained
on (and plainly when this release builds another), and the warnings about its training
extract's date that training recorded (none: "None."; a version trained before they were
recorded: "Not recorded")."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from api.model_card import card_html, card_markdown
from model.card import ModelCard, build_card
from model.card_sources import CardSources
from model.governance import default_settings_text
from model.registry_records import VersionInfo
from pipelines.manifest import MANIFEST_VERSION
from tests.model.fairness_fixture import fair_report

EARLIER = MANIFEST_VERSION - 1
HEADING = "Warnings about the training extract's date"
LONE_DATE = ("the extract date 2026-11-20 was taken from the data (its latest date), but it "
             "stands alone: only 1 dated value is after 2026-09-30")


def _card(*, trained_manifest: int | None = MANIFEST_VERSION,
          report: dict[str, Any] | None = None) -> ModelCard:
    info = VersionInfo(name="safeguard-risk", version="3", aliases=(), created_at=0,
                       run_id="run", source="", tags={}, metrics={})
    return build_card(CardSources(
        info=info, params={}, model_document={"governance_toml": default_settings_text()},
        training_report=report, calibration_png=None, fairness=fair_report(), digests={},
        tables={}, trained_manifest=trained_manifest))


def _texts(card: ModelCard) -> tuple[str, str]:
    html = unescape(" ".join(re.sub(r"<[^>]+>", " ", card_html(card)).split()))
    return " ".join(card_markdown(card).split()), html


def test_the_card_names_the_feature_manifest_the_version_was_trained_on() -> None:
    card = _card()
    assert card.feature_manifest == {"trained_on": MANIFEST_VERSION,
                                     "this_release": MANIFEST_VERSION, "problem": None}
    assert card.as_dict()["feature_manifest"]["trained_on"] == MANIFEST_VERSION
    for text in _texts(card):
        assert (f"Feature manifest: version {MANIFEST_VERSION}, the one this release "
                "builds.") in text
        assert "will neither serve nor approve" not in text


@pytest.mark.parametrize(("trained_on", "said"), [
    (EARLIER, f"version {EARLIER}"), (None, "not recorded")])
def test_the_card_says_plainly_when_this_release_builds_another_manifest(
        trained_on: int | None, said: str) -> None:
    card = _card(trained_manifest=trained_on)
    what = ("does not record the feature manifest it was trained on" if trained_on is None
            else f"was trained on feature manifest {EARLIER}")
    refusal = (f"model version 3 {what}; this release builds manifest {MANIFEST_VERSION}: "
               "retrain and approve a new version")
    assert card.feature_manifest["problem"] == refusal  # the load's and the gate's words
    markdown, html = _texts(card)
    assert (f"**Warning: feature manifest {said}, not the one this release builds (version "
            f"{MANIFEST_VERSION}).** This release will neither serve nor approve this version: "
            f"{refusal}.") in markdown
    assert (f"Feature manifest {said}, not the one this release builds (version "
            f"{MANIFEST_VERSION}). This release will neither serve nor approve this version: "
            f"{refusal}.") in html


def test_the_card_shows_the_extract_date_warnings_recorded_at_training() -> None:
    markdown, html = _texts(_card(report={"extract_date_warnings": [LONE_DATE]}))
    assert f"#### {HEADING} - **Warning:** {LONE_DATE}" in markdown
    assert f"{HEADING} Warning: {LONE_DATE}" in html
    for report, said in (({"extract_date_warnings": []}, "None."),
                         ({}, "Not recorded when this version was trained."),
                         (None, "Not recorded when this version was trained.")):
        markdown, html = _texts(_card(report=report))
        assert f"#### {HEADING} {said}" in markdown and f"{HEADING} {said}" in html
        assert "stands alone" not in markdown + html


def test_the_card_does_not_claim_the_extract_was_the_authoritys_own() -> None:
    """It said "trained in house on the authority's own extract" of a version trained on a
    synthetic one (probe, 7 December): nothing recorded tells the two apart."""
    for text in _texts(_card()):
        assert "in house on the authority's own extract" not in text
        assert ("whether that extract holds the authority's own records or synthetic ones is "
                "not recorded with the version") in text
