"""The model card: rendered for a model trained in the suite, along the ATRS sections, as
files (`safeguard model card`), with the run (training logs it) and from the API."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.audit import sha256_hex
from api.cli import app as safeguard
from api.model_card import card_for, card_html, card_markdown
from api.store import AuditEntry, Store, init_db
from api.web.approvals import approval_state
from model.approval_hint import approval_hint
from model.card import ATRS_HEADINGS, MISUSE, acceptance_checks, build_card
from model.card_sources import (
    CARD_HTML_ARTIFACT,
    CARD_MARKDOWN_ARTIFACT,
    CardSources,
    read_sources,
)
from model.evaluate import rates_by
from model.fairness import audit_fairness
from model.governance import default_settings_text, load_governance
from model.late_warning import LATE_KEY, LateAgency
from model.registry_records import VersionInfo
from tests.api.conftest import ApiEnv, TrainedModel, log_fairness_report, register_copy
from tests.model.fairness_fixture import fair_report, fairness_group, fairness_report
from tests.model.test_fairness import reference_rate_withheld


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_training_logs_the_card_with_the_run(trained_model: TrainedModel) -> None:
    registry, version = trained_model.registry, trained_model.version
    html = registry.read_artifact(version, CARD_HTML_ARTIFACT)
    markdown = registry.read_artifact(version, CARD_MARKDOWN_ARTIFACT)
    assert html is not None and markdown is not None
    assert f"version {version}" in markdown.decode()
    assert "No approval or rejection has been recorded" in markdown.decode()


def test_the_card_of_a_trained_model_has_every_atrs_section_in_order(
    trained_model: TrainedModel,
) -> None:
    card = card_for(trained_model.registry, trained_model.version, board=None)
    html, markdown = _text(card_html(card)), card_markdown(card)
    for text in (html, markdown):
        positions = [text.find(heading) for heading in ATRS_HEADINGS]
        missing = [h for h, p in zip(ATRS_HEADINGS, positions, strict=True) if p < 0]
        assert not missing, missing
        assert positions == sorted(positions)
    for heading in ATRS_HEADINGS:
        assert f"## {heading}\n" in markdown


def test_the_card_says_what_the_model_is_for_how_it_measured_and_what_it_must_not_do(
    trained_model: TrainedModel,
) -> None:
    card = card_for(trained_model.registry, trained_model.version, board=None)
    markdown = card_markdown(card)
    assert all(line in markdown for line in MISUSE)
    assert "365 days" in markdown and "MASH" in markdown
    metrics = trained_model.registry.resolve(trained_model.version).metrics
    assert f"| ROC AUC | {metrics['test_roc_auc']:.3f} | {metrics['baseline_roc_auc']:.3f} |" \
        in markdown
    assert "| very high |" in markdown  # outcome rates by band
    # The band shown, as the fairness audit's selection and the very-high precision read
    # it: a referral an escalation rule raised from low is counted in its raised band,
    # so the band table's counts are not the score table's summed over the band's scores.
    assert "Outcome rates by band shown, after escalation rules (test referrals):" in markdown
    assert "Outcome rates by band shown, after escalation rules (test referrals)" in _text(
        card_html(card))
    assert "Police |" in markdown and "Education |" in markdown  # features by agency
    assert "`min_roc_auc`" in markdown and "`max_selection_rate_disparity`" in markdown
    # Training logged the test period's fairness audit, which the card measures against.
    assert "no fairness audit recorded" not in markdown
    assert "agencies that share little" in markdown.lower()
    assert card.calibration_png is not None and "data:image/png;base64," in card_html(card)


def test_the_card_names_the_agencies_that_shared_no_records_at_training(
    trained_model: TrainedModel,
) -> None:
    sources = read_sources(trained_model.registry, trained_model.version)
    assert sources.training_report is not None
    assert sources.training_report["agencies_without_records"] == []  # the suite's extract
    everyone = card_markdown(build_card(sources))
    assert ("Agencies sharing records in the training extract: Police, Health, Education, "
            "Social care, Housing, Probation.") in everyone
    assert "Shared no records in it" not in everyone
    report = sources.training_report | {"agencies_without_records": ["housing", "probation"]}
    card = build_card(dataclasses.replace(sources, training_report=report))
    assert card.agencies == ("Police", "Health", "Education", "Social care")
    for text in (card_markdown(card), _text(card_html(card))):
        assert ("Agencies sharing records in the training extract: Police, Health, Education, "
                "Social care. Shared no records in it (no feed, none in it, or every row "
                "quarantined): Housing, Probation; the model learned nothing from their "
                "records") in text
    del report["agencies_without_records"]  # trained before it was recorded
    older = card_markdown(build_card(dataclasses.replace(sources, training_report=report)))
    assert "(which of them shared records in the training extract was not recorded" in older


def test_the_card_names_the_agencies_whose_records_arrived_late_at_training(
    trained_model: TrainedModel,
) -> None:
    sources = read_sources(trained_model.registry, trained_model.version)
    metadata = sources.model_document["metadata"]
    assert metadata[LATE_KEY] == []  # the suite's extract: none late
    assert "No agency's records arrived late in it." in card_markdown(build_card(sources))
    late = LateAgency("police", "a median of 131 days after the event, about 4 months; 90th "
                      "percentile 187 days", 182, 90, "2026-09-30")
    document = sources.model_document | {"metadata": metadata | {LATE_KEY: [late._asdict()]}}
    card = build_card(dataclasses.replace(sources, model_document=document))
    for text in (card_markdown(card), unescape(_text(card_html(card)))):
        assert ("Records arriving late in it: Police (those recorded in its latest 182 days: "
                "a median of 131 days after the event, about 4 months; 90th percentile 187 "
                "days; most of a referral's records of the 90 days before it not yet recorded "
                "by its date). Referrals dated in those days went without most of that agency's "
                "recent records, and while that goes on so will the cases the service scores "
                "with this version: each is warned of it.") in text
    older = {"metadata": {k: v for k, v in metadata.items() if k != LATE_KEY}}
    text = card_markdown(build_card(dataclasses.replace(
        sources, model_document=sources.model_document | older)))
    assert "Whether any agency's records arrived late in it was not recorded" in text


def test_the_card_reports_the_fairness_audit_and_suppresses_small_counts(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)
    report = fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=2000, reference=True),
        fairness_group({"ethnicity_group": "asian"}, n=35),  # 7 outcomes
        fairness_group({"ethnicity_group": "other"}, n=30),
        fairness_group({"ethnicity_group": "white", "sex": "male"}, n=1000, reference=True),
        fairness_group({"ethnicity_group": "black", "sex": "male"}, ratio=1.4,
                       flags=("selection_disparity",)),
        fairness_group({"ethnicity_group": "mixed"}, n=7, flags=("too_small",)),
    ])
    log_fairness_report(registry, version, report, tmp_path / "fairness")
    markdown = card_markdown(card_for(registry, version, board=None))
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in markdown.splitlines()
            if line.startswith("| ") and "subjects" in line.split(" | ")[0].lower()}
    assert "| Black male subjects | 400 | 20.0% |" in markdown  # as the report names them
    assert "selection_disparity" in markdown
    assert rows["Subjects of mixed ethnicity"][:2] == ["withheld", "-"]  # never a count under 10
    # Mixed's 7 would be all referrals less the groups published: the smallest of these
    # is withheld too (secondary suppression, as in the report).
    assert rows["Subjects of other ethnicity"][:2] == ["withheld", "-"]
    # 35 referrals: n is published, but an observed rate of 20% would give away its 7
    # outcomes, and a true positive rate its 4 true positives (the report's own rule).
    assert rows["Asian subjects"][:3] == ["35", "-", "20.0%"]  # mean predicted stays
    assert rows["Asian subjects"][5:7] == ["-", "-"]
    assert "max_selection_rate_disparity" in markdown and "1.400" in markdown


def test_the_card_says_which_flag_is_a_finding_and_which_a_possible_disparity(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    """Two ratios of 1.4: Black subjects' interval (1.3 to 1.5) excludes 1 (no disparity), a
    finding that fails the threshold; mixed subjects' (0.9 to 2.1, 150 referrals)
    includes it: a possible disparity, shown as one, failing nothing. The report is in
    the form written before possible flags were recorded: they are read from it."""
    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)
    black, mixed = (
        {**fairness_group({"ethnicity_group": group}, n=n, ratio=1.4,
                          flags=("selection_disparity",)),
         "selection_rate_ratio_ci": interval}
        for group, n, interval in (("black", 1400, [1.3, 1.5]), ("mixed", 150, [0.9, 2.1])))
    report = fairness_report([fairness_group({"ethnicity_group": "white"}, n=3000,
                                             reference=True), black, mixed])
    log_fairness_report(registry, version, report, tmp_path / "fairness")
    card = card_for(registry, version, board=None)
    markdown = card_markdown(card)
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[-1] for line in markdown.splitlines()
            if line.startswith("| ") and "subjects" in line.split(" | ")[0].lower()}
    assert rows["Black subjects"] == "selection_disparity |"
    assert rows["Subjects of mixed ethnicity"] == (
        "selection_disparity (possible: its interval includes no disparity) |")
    assert "1 group with a finding" in markdown and "1 more with possible findings only" in markdown
    [check] = [c for c in card.acceptance if c.name == "max_selection_rate_disparity"]
    assert not check.met and [g.group for g in check.groups] == ["Black subjects"]
    assert [g.group for g in check.possible] == ["subjects of mixed ethnicity"]


def test_the_card_withholds_a_ratio_and_a_measure_read_off_a_withheld_rate(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    """The reference's true positive rate is withheld: black subjects' ratio to it (3.0),
    beside their own published rate, would give it back; so would the acceptance
    check's measure of it on the card, meant for publication. The board's approval form
    shows it: it is the very figure the board would waive."""
    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)
    governance, _ = load_governance()
    audit = audit_fairness(reference_rate_withheld(), governance, model_version=version,
                           n_boot=10)
    log_fairness_report(registry, version, audit.document(), tmp_path / "fairness")
    card = card_for(registry, version, board=None)
    [check] = [c for c in card.acceptance if c.name == "max_true_positive_rate_disparity"]
    assert check.withheld and check.measured is None and not check.met
    assert check.detail.startswith("groups beyond it: Black subjects (true positive rate "
                                   "ratio withheld from publication); ")
    line = next(x for x in card_markdown(card).splitlines() if check.name in x)
    assert ("| withheld from publication: a rate behind it rests on a count under 10, or one "
            "that would give such a count away; the figure is in the full fairness report "
            "(fairness/fairness.json in the version's run) and on the approval form (groups "
            "beyond it: Black subjects (true positive rate") in line
    assert "3.0" not in line
    [black] = [r for r in card.fairness_rows if r.group == "Black subjects"]
    assert black.true_positive_rate == pytest.approx(0.75)  # its own rate stays published
    [full] = [c for c in acceptance_checks(read_sources(registry, version))
              if c.name == check.name]
    assert full.measured == pytest.approx(3.0)  # the gate judges the full report
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    store = Store(url)
    with store.session() as session:  # the approval form's hints, beside the card
        state = approval_state(session, version, registry=registry, board=None)
    store.dispose()
    [hint] = [c for c in state.unmet if c.name == check.name]
    assert not hint.withheld and hint.measured == pytest.approx(3.0)
    assert "Black subjects (true positive rate ratio 3)" in hint.detail


def _card_command(trained_model: TrainedModel, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch, database_url: str) -> Any:
    """`safeguard model card VERSION --output tmp_path/card` with the given store."""
    registry = trained_model.registry
    for name, value in {"SAFEGUARD_DATABASE_URL": database_url,
                        "SAFEGUARD_MLFLOW_TRACKING_URI": registry.tracking_uri,
                        "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(registry.artifact_root),
                        "SAFEGUARD_MODEL_NAME": registry.model_name}.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(safeguard, ["model", "card", trained_model.version,
                                          "--output", str(tmp_path / "card")])


def test_the_command_writes_the_card_as_html_and_markdown(
    trained_model: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _card_command(trained_model, tmp_path, monkeypatch,
                           f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "card" / "model_card.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "card" / "model_card.md").read_text(encoding="utf-8")
    assert "<style>" in html and ATRS_HEADINGS[-1] in html
    assert "![Calibration plot](calibration.png)" in markdown
    assert (tmp_path / "card" / "calibration.png").stat().st_size > 1000
    # No store there, so nothing was recorded in it; the card did not create one either (an
    # empty database file made `model list` and `users add` report a store "not migrated").
    assert "No approval or rejection has been recorded" in markdown
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("store", ["empty", "unreachable"])
def test_the_command_refuses_a_card_whose_approval_history_it_cannot_read(
    trained_model: TrainedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """A store without its schema, or one that does not answer, holds an approval history
    the card cannot read: it said "No approval or rejection has been recorded" of an
    approved version (an independent probe, 6 December)."""
    database = tmp_path / "store.db"
    if store == "empty":
        database.touch()
        url = f"sqlite:///{database}"
    else:
        url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    result = _card_command(trained_model, tmp_path, monkeypatch, url)
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: cannot read the approval history of version "), last
    assert "store unreachable or not migrated" in last and "db upgrade" in last
    assert not (tmp_path / "card").exists()


def test_governance_users_get_the_card_as_html_or_json(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    url = f"/v1/models/{trained_model.version}/card"
    page = model_api.client.get(url, headers=model_api.headers("governance"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert all(heading in page.text for heading in ATRS_HEADINGS)
    as_json = model_api.client.get(url, headers={**model_api.headers("admin"),
                                                 "Accept": "application/json"})
    assert as_json.status_code == 200
    body = as_json.json()
    assert body["version"] == trained_model.version and body["headings"] == list(ATRS_HEADINGS)
    assert {c["name"] for c in body["acceptance"]} >= {"min_roc_auc", "max_ece"}
    # the fixture's approval is in the history, naming its user
    assert body["approvals"][-1]["user"] == "test-governance"
    assert body["approvals"][-1]["valid"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["approvals"][-1]["at"])
    # Each read is audited, as a read of the card's page is.
    store = Store(model_api.settings.database_url)
    with store.session() as session:
        reads = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "model_card_view").order_by(AuditEntry.seq)))[-2:]
    store.dispose()
    assert [(e.role, e.details["format"], e.model_version) for e in reads] == [
        ("governance", "html", trained_model.version), ("admin", "json", trained_model.version)]


@pytest.mark.parametrize("role", ["triage", "data_scientist"])
def test_other_roles_may_not_read_the_card(model_api: ApiEnv, trained_model: TrainedModel,
                                          role: str) -> None:
    url = f"/v1/models/{trained_model.version}/card"
    assert model_api.client.get(url, headers=model_api.headers(role)).status_code == 403


def test_an_unknown_version_has_no_card(model_api: ApiEnv) -> None:
    response = model_api.client.get("/v1/models/999/card",
                                    headers=model_api.headers("governance"))
    assert response.status_code == 404


def test_a_read_of_a_card_the_registry_does_not_have_is_audited(api: ApiEnv) -> None:
    """A case view that finds nothing is in the trail (found: false); a card read that
    found nothing was not: who asked for which version, and when, was lost."""
    typed = "ab12cd34-not-a-version"  # an alias no version has: kept hashed

    for reference in ("998", typed):
        response = api.client.get(f"/v1/models/{reference}/card",
                                  headers=api.headers("governance"))
        assert response.status_code == 404

    store = Store(api.settings.database_url)
    with store.session() as session:
        reads = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "model_card_view").order_by(AuditEntry.seq)))[-2:]
    store.dispose()
    assert [(e.role, e.model_version, e.details.get("found")) for e in reads] == [
        ("governance", "998", False), ("governance", None, False)]
    assert reads[0].details["model_version"] == "998"
    assert reads[1].details["asked_sha256"] == sha256_hex(typed.encode("utf-8"))
    assert typed not in str(reads[1].details)


def test_a_version_that_is_no_version_or_alias_is_a_422_not_echoed(api: ApiEnv) -> None:
    """`/v1/models/%00/card` was a 404 echoing the NUL it was sent: a reference that is no
    version number or alias is refused as any bad path parameter is, on the card and the
    approval alike, and its audit entry keeps it hashed (it may be a pasted key)."""
    body = {"decision": "approve", "reason": "fine"}
    for reference in ("%00", "ab12cd34.a-pasted-key", "1%0A", "x" * 256):
        card = api.client.get(f"/v1/models/{reference}/card", headers=api.headers("governance"))
        approval = api.client.post(f"/v1/models/{reference}/approvals", json=body,
                                   headers=api.headers("governance"))
        for answer in (card, approval):
            assert answer.status_code == 422, (reference, answer.text)
            assert [e["field"] for e in answer.json()["detail"]] == ["version"]
            assert "\\x00" not in answer.text and "pasted" not in answer.text
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "request_invalid").order_by(AuditEntry.seq.desc())).first()
    store.dispose()
    assert entry is not None and entry.details["fields"] == ["path.version"]
    assert entry.details["asked_sha256"] == sha256_hex(("x" * 256).encode("utf-8"))
    assert "version" not in entry.details


def test_the_card_draws_the_fairness_reports_interval_charts(trained_model: TrainedModel
                                                              ) -> None:
    # Training logged the test period's audit; the card draws its charts as the report does.
    card = card_for(trained_model.registry, trained_model.version, board=None)
    assert card.fairness_document is not None
    html = card_html(card)
    charts = re.findall(r'<svg [^>]*role="img" aria-label="([^"]+)"', html)
    assert any(label.startswith("Ethnicity group: share selected") for label in charts)
    assert any("mean predicted minus observed" in label for label in charts)
    assert "fairness_document" not in card.as_dict()  # JSON card: the report stays apart


def test_the_card_says_what_the_model_saw_about_each_group(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    # The trained model's own card: training's audit carries the recording part.
    card = card_for(trained_model.registry, trained_model.version, board=None)
    assert card.fairness_document is not None and "recording" in card.fairness_document
    assert "What the model saw about each group" in card_markdown(card)
    # A logged report with one difference: both forms name it in a sentence.
    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)
    report = fairness_report([fairness_group({"ethnicity_group": "white"}, n=2000,
                                             reference=True)])
    row = {"attribute": "ethnicity_group", "agency": "police", "n": 400, "records": 900,
           "holders": 240,
           "records_per_referral": 2.25, "records_per_referral_ci": [2.0, 2.5],
           "share_with_records": 0.6, "too_small": False}
    report["recording"] = {
        "measure": "records per referral", "attributes": ["ethnicity_group"],
        "agencies": ["police"], "differing": 1, "rows": [
            {**row, "group": "white", "n": 2000, "records": 2000, "records_per_referral": 1.0,
             "ratio": 1.0, "ratio_ci": [1.0, 1.0], "is_reference": True, "differs": False},
            {**row, "group": "black", "ratio": 2.25, "ratio_ci": [1.9, 2.6],
             "is_reference": False, "differs": True}]}
    log_fairness_report(registry, version, report, tmp_path / "fairness")
    card = card_for(registry, version, board=None)
    sentence = ("Police: Black subjects had 2.25 times the records per referral of White "
                "subjects (95% interval 1.90 to 2.60).")
    assert sentence in card_markdown(card) and sentence in _text(card_html(card))


def test_the_card_names_everything_an_approval_covers(trained_model: TrainedModel) -> None:
    """The card's mitigations named the model folder, the fairness report and the card,
    when an approval covered every recorded file and the run's metrics and parameters."""
    from model.card_sources import RECORDED_FILES, RECORDED_WORDS

    card = card_for(trained_model.registry, trained_model.version, board=None)
    for text in (card_markdown(card), card_html(card)):
        said = " ".join(text.split()).replace("&#39;", "'")
        assert all(RECORDED_WORDS[path] in said for path in RECORDED_FILES)
        assert "the run's metrics and parameters; it is void if any of them changes" in said


def test_the_cards_global_explanations_name_agencies_as_the_explanations_do(
        trained_model: TrainedModel) -> None:
    """The card listed "social_care" beside "Social care" elsewhere."""
    card = card_for(trained_model.registry, trained_model.version, board=None)
    text = card_markdown(card)
    assert "- Social care: mean absolute contribution" in text
    assert "social_care" not in text


def _probe_small_group() -> dict[str, Any]:
    """A report whose only Black subjects are 23 test referrals (too small to judge),
    8 with the outcome (34.8%) against 15.4% predicted: the probe's case."""
    black = fairness_group({"ethnicity_group": "black"}, n=23, flags=("too_small",))
    black |= {"observed_rate": 8 / 23, "mean_predicted": 0.154,
              "calibration_gap": 0.154 - 8 / 23}
    black["counts"] = {"positives": 8, "negatives": 15, "selected": 4, "true_positives": 3,
                       "false_positives": 1}
    mixed = fairness_group({"ethnicity_group": "mixed"}, n=30, flags=("too_small",))
    return fairness_report([fairness_group({"ethnicity_group": "white"}, n=2000,
                                           reference=True), black, mixed])


def test_the_card_names_a_small_group_far_from_its_prediction(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)
    log_fairness_report(registry, version, _probe_small_group(), tmp_path / "fairness")
    card = card_for(registry, version, board=None)
    [sentence] = card.fairness_summary["small_groups"]  # not mixed: 20% predicted, 20% seen
    assert sentence.startswith("Black subjects: too few referrals to judge (23 labelled "
                               "referrals), but the outcome rate observed among them lies "
                               "above the risk the model predicted for them (15.4% on average)")
    assert "Audit the whole extract (`safeguard audit fairness`) before approval" in sentence
    assert "34.8" not in sentence and " 8 " not in sentence  # a count under 10: withheld
    markdown, html = card_markdown(card), _text(card_html(card))
    assert f"**Too small to judge, but far from the prediction:** {sentence}" in markdown
    assert sentence in html
    for text in (markdown, html):
        assert "before approval, run `safeguard audit fairness` on the whole extract".replace(
            "`", "" if text is html else "`") in text
    hint = approval_hint(registry, version, board=None)
    assert ("1 group too small to judge there has an observed outcome rate whose exact 95% "
            "interval leaves the model's prediction out (named on the card). Before approval, "
            f"audit the whole extract: `safeguard audit fairness --model {version} --input DIR "
            "--output DIR`") in hint


def test_a_score_no_test_referral_reached_says_no_referrals_not_none() -> None:
    """An isotonic calibrator left scores empty, and the card's rates-by-score table
    printed "None" for their outcome rate and mean probability (a probe's extract)."""
    # scores 2 and 4 to 19: no test referral; score 1: ten, enough to publish its rates
    scores = np.array([1] * 10 + [3, 20])
    table = rates_by(np.array([0, 1] * 5 + [0, 1]), np.array([0.1, 0.2] * 5 + [0.3, 0.9]),
                     scores, range(1, 21))
    written = io.StringIO()
    table.rename_axis("score").reset_index().to_csv(written, index=False)
    info = VersionInfo(name="safeguard-risk", version="3", aliases=(), created_at=0,
                       run_id="run", source="", tags={}, metrics={})
    card = build_card(CardSources(
        info=info, params={}, model_document={"governance_toml": default_settings_text()},
        training_report=None, calibration_png=None, fairness=fair_report(), digests={},
        tables={"rates_by_score": pd.read_csv(io.StringIO(written.getvalue()))}))
    markdown, html = card_markdown(card), _text(card_html(card))
    assert "| 2 | 0 | no referrals | no referrals |" in markdown
    assert "| 1 | 10 | 0.500 | 0.150 |" in markdown  # a score with referrals: its rates
    assert "2 0 no referrals no referrals 3 1" in html
    for text in (markdown, html):
        assert "None" not in text


def test_the_card_and_the_model_endpoint_say_which_referrals_the_figures_come_from(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    metrics = trained_model.registry.resolve(trained_model.version).metrics
    held_out, period = int(metrics["test_n"]), int(metrics["test_period_n"])
    assert held_out < period  # the suite's extract has families referred twice
    said = (f"{held_out:,} referrals from families not seen in training (of {period:,} "
            "referrals in the test period)")
    url = f"/v1/models/{trained_model.version}/card"
    body = model_api.client.get(url, headers={**model_api.headers("governance"),
                                              "Accept": "application/json"}).json()
    on = body["evaluated_on"]
    assert said in on["text"] and (on["held_out"], on["period"]) == (held_out, period)
    assert ["ROC AUC", metrics["test_roc_auc"], metrics["test_period_roc_auc"]] in on["figures"]
    page = unescape(_text(model_api.client.get(
        url, headers=model_api.headers("governance")).text))
    assert "Which referrals these figures come from: the test period (from " in page
    assert said in page and "no family's outcomes both taught and judged the model" in page
    assert f"Whole test period ({period:,} referrals)" in page
    model = model_api.client.get("/v1/model", headers=model_api.headers("data_scientist")).json()
    assert said in model["evaluated_on"]["text"]
    assert model["evaluated_on"]["figures"] == on["figures"]


def test_the_card_narrates_the_whole_extracts_audit_once_one_is_recorded(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    """A probe's card kept narrating the 571 test referrals' audit after the whole
    extract's was recorded: its finding (disabled subjects' health records at 0.27 times
    the records per referral) appeared nowhere on the card the board approves from."""
    from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT

    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)
    log_fairness_report(registry, version, fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=2000, reference=True),
        fairness_group({"ethnicity_group": "black"}, n=300)]), tmp_path / "fairness")
    before = card_markdown(card_for(registry, version, board=None))
    assert "The whole extract's audit" not in before
    assert "before approval, run `safeguard audit fairness` on the whole extract" in before
    black = {**fairness_group({"ethnicity_group": "black"}, n=1200, ratio=1.4,
                              flags=("selection_disparity",)),
             "selection_rate_ratio_ci": [1.3, 1.5]}
    extract = fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=9000, reference=True), black])
    registry.log_text(registry.resolve(version).run_id, json.dumps(extract),
                      EXTRACT_AUDIT_ARTIFACT)
    card = card_for(registry, version, board=None)
    assert card.extract_fairness_summary is not None
    assert [row.group for row in card.extract_fairness_rows][-1] == "Black subjects"
    assert "extract_audit_document" not in card.as_dict()
    for text in (card_markdown(card), " ".join(unescape(card_html(card)).split())):
        assert "The whole extract's audit" in text and "audit, at training" in text
        assert text.index("The whole extract's audit") < text.index("audit, at training")
        assert "Audit of 10,200 labelled referrals of the extract" in text or (
            f"Audit of {extract['n_labelled']} labelled referrals of the extract" in text)
        assert "before approval, run `safeguard audit fairness` on the whole extract" not in (
            text.replace("<code>", "`").replace("</code>", "`"))
        whole = text[text.index("The whole extract's audit"):text.index("audit, at training")]
        assert "Black subjects" in whole and "selection_disparity" in whole
        # Its findings in the report's words, and no request for the audit it is.
        assert "The findings, in the report's words:" in whole
        assert all(sentence in whole for sentence in card.extract_fairness_summary["findings"])
        assert card.extract_fairness_summary["findings"]
        assert "Audit the whole extract" not in whole
    # The same rule of miscalibration in both forms of the card.
    rule = "and so does that of its gap beside the whole model's miscalibration"
    assert rule in card_markdown(card) and rule in " ".join(unescape(card_html(card)).split())
