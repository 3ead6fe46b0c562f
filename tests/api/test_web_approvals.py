"""The governance pages over HTTP, against a real trained model: the model card and
fairness report pages, and approving through the check-answers step.

The approvals are made on a copy of the trained model registered without its fairness
audit (so that it misses the fairness thresholds, as the trained one does not), in a
store of its own: the shared `model_api` app's approval is left alone."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.model_card import log_card
from api.model_scorer import load_scorer
from api.monitor_command import write_monitor_report
from api.store import Store, init_db
from api.store.models import ModelApproval
from model.acceptance import unmet
from model.card import acceptance_checks
from model.card_sources import read_sources
from model.monitor_run import monitor_extract
from model.provenance import provenance
from model.registry import ModelRegistry
from tests.api.conftest import (
    ApiEnv,
    TrainedModel,
    issue_keys,
    make_settings,
    record_test_approval,
    register_copy,
    registry_settings,
    stricter_board,
)
from tests.api.fakes import FakeScorer
from tests.api.test_monitor import NO_DECISIONS
from tests.api.web_client import csrf_token, signed_in_client


@dataclass
class Governed:
    """An app (fake scorer) over a registry holding one version that misses thresholds."""

    api: ApiEnv
    registry: ModelRegistry
    version: str

    def unmet_names(self) -> list[str]:
        sources = read_sources(self.registry, self.version)
        return [check.name for check in unmet(acceptance_checks(sources))]


@pytest.fixture(scope="module")
def governed(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Governed]:
    folder = tmp_path_factory.mktemp("governed")
    loaded = trained_model.loaded
    registry, version = register_copy(folder / "mlflow", loaded.model, loaded.golden, alias=None)
    log_card(registry, registry.resolve(version), board=None)
    url = f"sqlite:///{folder / 'api.db'}"
    init_db(url)
    settings = make_settings(url, reports_dir=folder / "reports", **registry_settings(registry))
    keys, revoked = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        yield Governed(
            ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings),
            registry,
            version,
        )


def _approvals(api: ApiEnv) -> int:
    store = Store(api.settings.database_url)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(ModelApproval)) or 0
    store.dispose()
    return int(count)


def _audit_actions(api: ApiEnv, version: str) -> list[str]:
    page = api.client.get(
        "/v1/audit",
        params={"model_version": version, "limit": 500},
        headers=api.headers("governance"),
    ).json()
    return [entry["action"] for entry in page["entries"]]


def test_triage_gets_403_on_the_model_pages(model_api: ApiEnv, trained_model: TrainedModel) -> None:
    browser = signed_in_client(model_api.client, model_api.keys["triage"])
    base = f"/governance/versions/{trained_model.version}"
    for path in ("/card", "/fairness", "/approval", "/decide"):
        assert browser.get(base + path).status_code == 403, path
    admin = signed_in_client(model_api.client, model_api.keys["admin"])
    assert admin.get(base + "/card").status_code == 200
    assert admin.get(base + "/decide").status_code == 403  # approving is governance's alone


def test_governance_reads_the_card_and_fairness_report_and_each_view_is_audited(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    version = trained_model.version
    card = browser.get(f"/governance/versions/{version}/card")
    fairness = browser.get(f"/governance/versions/{version}/fairness")
    assert card.status_code == fairness.status_code == 200
    assert f"version {version}</h1>" in card.text and "Approval history" in card.text
    tables = re.findall(r"<table[^>]*>\s*(<\w+)", card.text)  # each opens with its caption
    assert len(tables) > 5 and set(tables) == {"<caption"}
    assert "Approvals and rejections of this version</caption>" in card.text
    assert f"Fairness audit of model version {version}" in fairness.text
    assert "govuk-table" in fairness.text
    actions = _audit_actions(model_api, version)
    assert {"model_card_view", "fairness_report_view"} <= set(actions)


def test_the_version_page_shows_counts_as_whole_numbers(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    page = browser.get(f"/governance/versions/{trained_model.version}").text
    iterations = int(trained_model.loaded.info.metrics["n_iter"])
    assert re.search(rf">Boosting iterations</dt>\s*<dd[^>]*>{iterations}</dd>", page)
    assert re.search(r">Test ROC AUC</dt>\s*<dd[^>]*>0\.\d{4}</dd>", page)
    # What the metrics were measured on, as `safeguard model list` shows it.
    registry = ModelRegistry(model_api.settings.mlflow_tracking_uri,
                             model_name=model_api.settings.model_name,
                             artifact_root=model_api.settings.mlflow_artifact_root)
    found = provenance(registry, trained_model.version)
    assert found.extract_date and found.test_from  # recorded by training
    for key, value in (("Training extract", found.extract()), ("Test period", found.test_period())):
        assert re.search(rf">\s*{key}\s*</dt>\s*<dd[^>]*>\s*{re.escape(value)}\s*</dd>", page)


def test_approving_without_a_waiver_for_an_unmet_threshold_shows_the_error_summary(
    governed: Governed,
) -> None:
    missed = governed.unmet_names()
    assert missed, "a version without its fairness audit misses the fairness thresholds"
    api = governed.api
    browser = signed_in_client(api.client, api.keys["governance"])
    path = f"/governance/versions/{governed.version}/decide"
    token = csrf_token(browser.get(path).text)
    response = browser.post(
        path, data={"csrf_token": token, "decision": "approve", "reason": "fit for purpose"}
    )
    assert response.status_code == 400
    assert "govuk-error-summary" in response.text and "<title>Error: " in response.text
    assert f"Enter the reason the {missed[0]} threshold is waived" in response.text
    before = _approvals(api)
    confirm = browser.post(
        path + "/confirm",
        data={"csrf_token": token, "decision": "approve", "reason": "fit for purpose"},
    )
    assert confirm.status_code == 400 and "govuk-error-summary" in confirm.text
    assert _approvals(api) == before


def test_the_confirm_post_needs_its_csrf_token(governed: Governed) -> None:
    api = governed.api
    browser = signed_in_client(api.client, api.keys["governance"])
    path = f"/governance/versions/{governed.version}/decide/confirm"
    before = _approvals(api)
    form = {"decision": "reject", "reason": "not today"}
    assert browser.post(path, data=form).status_code == 403
    assert browser.post(path, data={**form, "csrf_token": "x" * 43}).status_code == 403
    assert _approvals(api) == before


def _approval_form(governed: Governed, token: str) -> dict[str, object]:
    """An approval as the form posts it, each unmet threshold waived with a reason."""
    return {
        "csrf_token": token,
        "decision": "approve",
        "reason": "board meeting 4 December",
        **{f"waiver-{name}": f"accepted for {name}" for name in governed.unmet_names()},
    }


def test_an_approval_through_check_your_answers_is_recorded_as_the_api_records_it(
    governed: Governed,
) -> None:
    api, version = governed.api, governed.version
    browser = signed_in_client(api.client, api.keys["governance"])
    path = f"/governance/versions/{version}/decide"
    token = csrf_token(browser.get(path).text)
    form = _approval_form(governed, token)
    check = browser.post(path, data=form)
    assert check.status_code == 200 and "Check your answers" in check.text
    assert "in the approval history of its model card, which is meant for publication" in check.text
    assert all(f"Waiver: {name}" in check.text for name in governed.unmet_names())
    changing = browser.post(path, data={**form, "change": "yes"})
    assert changing.status_code == 200 and "Approve or reject this version" in changing.text
    assert "board meeting 4 December</textarea>" in changing.text  # the answers kept
    before = _approvals(api)
    done = browser.post(path + "/confirm", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert _approvals(api) == before + 1
    task_list = browser.get(done.headers["location"]).text
    assert "Your decision was recorded" in task_list and "board meeting 4 December" in task_list
    assert "is approved and may be served" in task_list and "Waived" in task_list
    assert re.search(r"Approved by [\w-]+ on \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC: "
                     "board meeting 4 December", task_list)  # as other pages write times
    claimed = browser.get(f"/governance/versions/{version}/approval?recorded=rejected").text
    assert "Your decision was recorded" not in claimed  # the banner says only what is so
    assert "model_approve" in _audit_actions(api, version)


def test_the_governance_page_shows_the_latest_monitoring_report_once_written(
    governed: Governed, trained_model: TrainedModel
) -> None:
    api = governed.api
    browser = signed_in_client(api.client, api.keys["governance"])
    before = browser.get("/governance").text
    assert "No report yet" in before and "safeguard monitor --input EXTRACT" in before
    assert browser.get("/governance/reports/monitor").status_code == 404

    report = monitor_extract(
        trained_model.loaded.model,
        version=trained_model.version,
        prepared=trained_model.prepared,
        decisions=NO_DECISIONS,
    )
    assert api.settings.reports_dir is not None
    write_monitor_report(report, api.settings.reports_dir / "monitor")
    after = browser.get("/governance").text
    assert 'href="/governance/reports/monitor"' in after
    assert "safeguard report partnership --input EXTRACT" in after  # not written yet
    page = browser.get("/governance/reports/monitor")
    assert page.status_code == 200 and "Agency coverage" in page.text
    assert '<a href="/governance" class="govuk-back-link">Model governance</a>' in page.text
    # Audited: the report quotes practitioners' override reasons.
    viewed = _audit_actions(api, trained_model.version)
    assert viewed.count("oversight_report_view") == 1
    triage = signed_in_client(api.client, api.keys["triage"])
    assert triage.get("/governance/reports/monitor").status_code == 403


def test_a_waiver_field_posted_twice_is_refused_not_replaced(governed: Governed) -> None:
    api = governed.api
    name = governed.unmet_names()[0]
    browser = signed_in_client(api.client, api.keys["governance"])
    path = f"/governance/versions/{governed.version}/decide"
    token = csrf_token(browser.get(path).text)
    form = {
        **_approval_form(governed, token),
        f"waiver-{name}": ["a first reason", "a second reason"],
    }
    before = _approvals(api)
    for step in (path, path + "/confirm"):
        response = browser.post(step, data=form, follow_redirects=False)
        assert response.status_code == 400, step
        assert "govuk-error-summary" in response.text
        assert f"{name} is waived more than once" in response.text
    assert _approvals(api) == before


def test_a_rejected_champion_is_not_shown_as_serving(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    loaded = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", loaded.model, loaded.golden)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    record_test_approval(url, registry, version)
    settings = make_settings(url, **registry_settings(registry))
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, load_scorer(settings))) as client:
        browser = signed_in_client(client, keys["governance"])
        page = f"/governance/versions/{version}"
        assert "Serving (aliases: champion)" in browser.get(page).text
        listed = browser.get("/governance").text
        assert "Champion (serving)" in listed and "Governance decision</th>" in listed
        assert re.search(r"<td[^>]*>Approved by [\w-]+, \d{1,2} [A-Z][a-z]+ \d{4}", listed)
        token = csrf_token(browser.get(page + "/decide").text)
        done = browser.post(page + "/decide/confirm", follow_redirects=False, data={
            "csrf_token": token, "decision": "reject", "reason": "not fit for purpose"})
        assert done.status_code == 303
        shown = browser.get(page).text
        assert "Not serving (aliases: champion)" in shown and "Serving (" not in shown
        listed = browser.get("/governance").text
        assert "Champion (not serving)" in listed
        assert re.search(r"<td[^>]*>Rejected by [\w-]+, \d{1,2} [A-Z][a-z]+ \d{4}", listed)
        assert "<td class=\"govuk-table__cell\">Approved by" not in listed


@pytest.mark.parametrize(("field", "value", "message"), [
    ("reason", "fit \u202e for purpose", "Reason must not include a hidden direction control"),
    ("reason", "fit\x00", "Reason must not include a hidden NUL character"),
    ("reason", "x" * 20_001, "Reason must be 5,000 characters or fewer"),
    ("waiver", "y" * 2_001, "must be 2,000 characters or fewer"),
    ("waiver", "a\x00b", "must not include a hidden NUL character"),
])
def test_the_decision_form_checks_its_texts_at_the_first_submit_on_their_own_field(
    governed: Governed, field: str, value: str, message: str
) -> None:
    """The check page accepted these (200) and only Confirm refused them (400), with the
    error linked to the radios in the API's own words."""
    api = governed.api
    browser = signed_in_client(api.client, api.keys["governance"])
    path = f"/governance/versions/{governed.version}/decide"
    form_page = browser.get(path).text
    assert 'data-maxlength="5000"' in form_page and 'data-maxlength="2000"' in form_page
    form = _approval_form(governed, csrf_token(form_page))
    name = "reason" if field == "reason" else f"waiver-{governed.unmet_names()[0]}"
    response = browser.post(path, data={**form, name: value})
    assert response.status_code == 400 and "Check your answers" not in response.text
    summary = response.text.split('class="govuk-error-summary', 1)[1].split("</div>", 3)
    assert f'href="#{name}"' in "".join(summary) and 'href="#decision"' not in "".join(summary)
    assert message in response.text
    assert f'id="{name}-error"' in response.text  # beside the field itself


def test_a_version_page_reads_each_recorded_file_once(
    model_api: ApiEnv, trained_model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The approval task list read each of the card's recorded files twice (the page's
    figures, then the gate's validity: 1.6 s a page on the demo's registry); so did the
    version's page, its card and the decision form."""
    reads: Counter[tuple[str, str]] = Counter()
    read = ModelRegistry.read_artifact

    def counted(registry: ModelRegistry, version: str, path: str) -> bytes | None:
        reads[(version, path)] += 1
        return read(registry, version, path)

    monkeypatch.setattr(ModelRegistry, "read_artifact", counted)
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    base = f"/governance/versions/{trained_model.version}"
    for page in (base, f"{base}/approval", f"{base}/card", f"{base}/decide"):
        reads.clear()
        assert browser.get(page).status_code == 200, page
        assert reads and max(reads.values()) == 1, (page, reads)


def test_the_version_pages_test_period_agrees_with_its_metrics(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """The page said "Test period: from 2024-09-15, 2,659 referrals" above "test period n
    3,267": 2,659 were the held-out referrals of new families (`test n`), the period held
    3,267 (the demo's version 1)."""
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    page = " ".join(re.sub(r"<[^>]+>", " ", browser.get(
        f"/governance/versions/{trained_model.version}").text).split())
    metrics = trained_model.loaded.info.metrics
    held_out, in_period = int(metrics["test_n"]), int(metrics["test_period_n"])
    cell = re.search(r"Test period (from \d{4}-\d\d-\d\d[^A-Z]*)", page)
    assert cell, page[:3000]
    assert re.fullmatch(rf"from \d{{4}}-\d\d-\d\d, {held_out:,} referrals held out \(families "
                        rf"not seen earlier; {in_period:,} in the period\) ", cell[1]), cell[1]


def _confirm_form(check_page: str) -> dict[str, str]:
    """The hidden fields of check your answers' confirmation form, as the page posts them."""
    form = re.search(r'<form method="post" action="[^"]+/decide/confirm"[^>]*>(.*?)</form>',
                     check_page, re.DOTALL)
    assert form, check_page[:2000]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[1]))


def test_a_double_click_records_the_decision_once(governed: Governed) -> None:
    """Two confirmations sent at once (a double click on "Confirm and record decision")
    both found the decision unchanged before either was written: both were recorded."""
    from concurrent.futures import ThreadPoolExecutor

    api, version = governed.api, governed.version
    browser = signed_in_client(api.client, api.keys["governance"])
    path = f"/governance/versions/{version}/decide"
    form = _approval_form(governed, csrf_token(browser.get(path).text))
    confirm = _confirm_form(browser.post(path, data=form).text)
    before = _approvals(api)
    with ThreadPoolExecutor(2) as pool:
        sent = list(pool.map(lambda _: browser.post(path + "/confirm", data=confirm,
                                                    follow_redirects=False), range(2)))
    assert [response.status_code for response in sent] == [303, 303]
    assert _approvals(api) == before + 1


def test_confirming_twice_records_the_decision_once(governed: Governed) -> None:
    """A second click on "Confirm and record decision" (or the page resent) recorded the
    same approval again, twice in the card's published approval history; a confirmation
    from a second tab, after another decision was recorded, replaced it unseen."""
    api, version = governed.api, governed.version
    browser = signed_in_client(api.client, api.keys["governance"])
    path = f"/governance/versions/{version}/decide"
    form = _approval_form(governed, csrf_token(browser.get(path).text))
    first_tab = _confirm_form(browser.post(path, data=form).text)
    second_tab = _confirm_form(browser.post(path, data={
        **form, "decision": "reject", "reason": "second tab: not ready"}).text)
    before = _approvals(api)
    done = browser.post(path + "/confirm", data=first_tab, follow_redirects=False)
    again = browser.post(path + "/confirm", data=first_tab, follow_redirects=False)
    assert done.status_code == again.status_code == 303
    assert again.headers["location"] == done.headers["location"]  # "was recorded"
    assert _approvals(api) == before + 1
    views = Counter(_audit_actions(api, version))["approval_form_view"]
    stale = browser.post(path + "/confirm", data=second_tab)
    assert stale.status_code == 409 and "govuk-error-summary" in stale.text
    # The form shown again (the thresholds missed) is audited as its other views are.
    assert Counter(_audit_actions(api, version))["approval_form_view"] == views + 1
    assert "was recorded while you were deciding" in " ".join(stale.text.split())
    assert "second tab: not ready</textarea>" in stale.text  # what was entered is kept
    assert _approvals(api) == before + 1


def test_the_check_under_the_lock_judges_as_the_first_check(tmp_path: Path) -> None:
    """`still_latest` refuses only where `decided_since` finds a decision: a confirmation
    naming no decision of a version without one is recorded, not answered 'was recorded'
    with nothing recorded."""
    from api.web.approvals import decided_since, still_latest

    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    store = Store(url)
    with store.session() as session:
        assert decided_since(session, "m", "1", "no such id") is None
        check = still_latest("m", "1", "no such id")
        assert check is not None
        check(session.connection())  # raises nothing
    store.dispose()


def test_the_approval_pages_judge_against_the_boards_thresholds(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    """A version trained under a threshold looser than the board's (the service's
    governance settings): the task list, the decision form and its error say so, and the
    threshold needs a waiver like any other it misses."""
    board_file, name = stricter_board(trained_model, tmp_path)
    version = trained_model.version
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    settings = make_settings(url, governance_settings_path=board_file,
                             **trained_model.settings_overrides())
    keys, _ = issue_keys(settings)
    as_trained = {f"waiver-{c.name}": "small synthetic extract" for c in unmet(
        acceptance_checks(read_sources(trained_model.registry, version)))}
    with TestClient(create_app(settings, FakeScorer())) as client:
        browser = signed_in_client(client, keys["governance"])
        task_list = browser.get(f"/governance/versions/{version}/approval").text
        path = f"/governance/versions/{version}/decide"
        form = browser.get(path).text
        token = csrf_token(form)
        answers = {"csrf_token": token, "decision": "approve", "reason": "board of 6 December",
                   **as_trained}
        refused = browser.post(path, data=answers)
        check = browser.post(path, data={**answers, f"waiver-{name}": "accepted for the pilot"})
    task_list = html.unescape(task_list)
    assert ("Trained under looser thresholds than the board's, so judged at the board's: "
            f"{name}") in task_list
    assert f"{name} (required " in task_list.split("Not met: ")[1]
    assert f"Reason to waive {name}" in form and "the version was trained under" in form
    assert refused.status_code == 400
    assert f"Enter the reason the {name} threshold is waived" in refused.text
    assert check.status_code == 200 and f"Waiver: {name}" in check.text


def test_the_task_list_gives_each_missed_threshold_its_figures(governed: Governed) -> None:
    """The task list named the thresholds missed and no more; the board read the figures
    and the groups beyond each only on the decision form."""
    api, version = governed.api, governed.version
    browser = signed_in_client(api.client, api.keys["governance"])
    page = html.unescape(browser.get(f"/governance/versions/{version}/approval").text)
    missed = unmet(acceptance_checks(read_sources(governed.registry, version)))
    assert missed
    for check in missed:
        assert f"{check.name} (required {check.required}, measured " in page
        assert check.measured_text(4, "g") in page
        assert not check.detail or check.detail in page
