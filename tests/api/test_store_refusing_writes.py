"""A store that answers reads but refuses writes (an SQLite file read-only or its disk
full, a PostgreSQL standby after a failover): the service answers 503 and logs why, and a
command refuses in one line, showing no statement or parameters (a new user's key hash, a
person's token)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from api.app import create_app
from api.store import Store, User
from tests.api import factories
from tests.api.conftest import issue_keys, make_settings
from tests.api.failing_command import one_line_failure
from tests.api.fakes import FakeScorer

# What each driver says of a write to a read-only store.
REFUSED = {"sqlite": "OperationalError: attempt to write a readonly database",
           "postgresql": "ReadOnlySqlTransaction: cannot execute INSERT in a read-only "
                         "transaction"}


def read_only(url: str) -> str:
    """The same database, reading and refusing every write: SQLite opened read-only (as a
    file the service's user may not write), PostgreSQL in read-only transactions (as a
    hot standby is)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    return parsed.update_query_dict({"options": "-c default_transaction_read_only=on"}
                                    ).render_as_string(hide_password=False)


@pytest.mark.parametrize("command", [
    ("users", "add", "someone", "--role", "triage"),
    ("subject-access", "--person-id", "P-TOKEN-OF-A-CHILD", "--output", "{tmp}/sar.html"),
])
def test_a_command_whose_write_is_refused_says_why_in_one_line(
    command: tuple[str, ...], fresh_database_url: str, tmp_path: Path
) -> None:
    """Both printed SQLAlchemy's traceback ending in the INSERT and its parameters: the new
    user's key salt and hash, the person's token."""
    line = one_line_failure(tmp_path, *command,
                            SAFEGUARD_DATABASE_URL=read_only(fresh_database_url))
    refused = REFUSED[make_url(fresh_database_url).get_backend_name()]
    assert line.startswith(f"error: the database could not be used ({refused}); "), line
    assert "INSERT INTO" not in line and "P-TOKEN-OF-A-CHILD" not in line
    store = Store(fresh_database_url)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
    store.dispose()
    assert not (tmp_path / "sar.html").exists()


def test_a_refused_write_is_a_503_logged_with_the_drivers_reason(
    fresh_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The log said `store unavailable (OperationalError)` for a full disk, a read-only
    file and a database gone alike, while `/readyz` (a read) said ready; a PostgreSQL
    standby's refusal was a 500 "internal error", not a 503 to retry."""
    keys, _ = issue_keys(make_settings(fresh_database_url))
    caplog.set_level(logging.WARNING, logger="api.routes.errors")
    app = create_app(make_settings(read_only(fresh_database_url)), FakeScorer())
    with TestClient(app) as client:
        answer = client.post("/v1/score", json=factories.case(events=3),
                             headers={"Authorization": f"Bearer {keys['triage']}"})
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    refused = REFUSED[make_url(fresh_database_url).get_backend_name()]
    assert f"store unavailable ({refused}): answering 503" in caplog.text
    assert "INSERT INTO" not in caplog.text


def test_readyz_is_not_ready_for_a_while_after_a_refused_write(
    fresh_database_url: str,
) -> None:
    """`/readyz` (a read) said ready while every write was answered 503, so a load
    balancer kept sending this instance work it could not acknowledge."""
    keys, _ = issue_keys(make_settings(fresh_database_url))
    triage = {"Authorization": f"Bearer {keys['triage']}"}
    settings = make_settings(read_only(fresh_database_url), refused_write_not_ready_seconds=1.0)
    with TestClient(create_app(settings, FakeScorer())) as client:
        assert client.get("/readyz").status_code == 200  # nothing refused yet
        assert client.post("/v1/score", json=factories.case(), headers=triage).status_code == 503
        held = client.get("/readyz")
        time.sleep(1.1)
        recovered = client.get("/readyz")
    assert held.status_code == 503, held.text
    [reason] = held.json()["reasons"]
    driver = REFUSED[make_url(fresh_database_url).get_backend_name()].split(":")[0]
    assert reason.startswith("the store refused a write 0 s ago (" + driver + ")"), reason
    assert recovered.status_code == 200, recovered.text


def test_a_store_taking_writes_stays_ready(fresh_database_url: str) -> None:
    keys, _ = issue_keys(make_settings(fresh_database_url))
    settings = make_settings(fresh_database_url)
    with TestClient(create_app(settings, FakeScorer())) as client:
        assert client.post("/v1/score", json=factories.case(), headers={
            "Authorization": f"Bearer {keys['triage']}"}).status_code == 200
        assert client.get("/readyz").json()["checks"]["store"] == {
            "ok": True, "reason": "store reachable"}
