"""The board's governance settings file edited, while the service runs, into one that
cannot be read: the API and the pages that judge a version against it answer 503 saying
so (not a 500 with an error id), record nothing, and serve again once it is corrected."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.store import Store, init_db
from api.store.models import ModelApproval
from model.governance import default_settings_text
from tests.api.conftest import TrainedModel, issue_keys, make_settings
from tests.api.fakes import FakeScorer
from tests.api.web_client import csrf_token, signed_in_client

BROKEN = "[acceptance\nmin_roc_auc = "  # not TOML


def test_an_unreadable_board_file_is_a_503_that_says_why(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    board = tmp_path / "board.toml"
    board.write_text(default_settings_text(), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    settings = make_settings(url, governance_settings_path=board,
                             **trained_model.settings_overrides())
    keys, _ = issue_keys(settings)
    version = trained_model.version
    card = f"/v1/models/{version}/card"
    decide = f"/governance/versions/{version}/decide"
    api_key = {"Authorization": f"Bearer {keys['governance']}"}
    with TestClient(create_app(settings, FakeScorer())) as client:
        assert client.get(card, headers=api_key).status_code == 200
        browser = signed_in_client(client, keys["governance"])
        token = csrf_token(browser.get(decide).text)
        board.write_text(BROKEN, encoding="utf-8")
        api_answer = client.get(card, headers=api_key)
        page = browser.get(f"/governance/versions/{version}/approval")
        posted = browser.post(decide, data={"csrf_token": token, "decision": "approve",
                                            "reason": "board of 6 December"})
        board.write_text(default_settings_text(), encoding="utf-8")
        mended = client.get(card, headers=api_key)
    for answer in (api_answer, page, posted):
        assert answer.status_code == 503
        assert "governance settings cannot be read" in html.unescape(answer.text)
        assert str(board) in html.unescape(answer.text)
        assert "error_id" not in answer.text
    assert api_answer.headers["content-type"].startswith("application/json")
    assert page.headers["content-type"].startswith("text/html")
    assert mended.status_code == 200
    store = Store(url)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ModelApproval)) == 0
    store.dispose()
