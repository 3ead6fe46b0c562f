"""A store that answers reads but refuses writes (its file read-only, its disk full): the
service's 503 and the commands' refusal say why in one line, and show no statement or
parameters (a new user's key hash, a person's token)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.store import Store, User, init_db
from tests.api import factories
from tests.api.conftest import issue_keys, make_settings
from tests.api.failing_command import one_line_failure
from tests.api.fakes import FakeScorer

READ_ONLY = "OperationalError: attempt to write a readonly database"


def read_only(path: Path) -> str:
    """A URL of the SQLite database at ``path`` that reads it and refuses every write, as
    a file the service's user may not write (or a full disk) does."""
    return f"sqlite:///file:{path}?mode=ro&uri=true"


@pytest.mark.parametrize("command", [
    ("users", "add", "someone", "--role", "triage"),
    ("subject-access", "--person-id", "P-TOKEN-OF-A-CHILD", "--output", "{tmp}/sar.html"),
])
def test_a_command_whose_write_is_refused_says_why_in_one_line(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    """Both printed SQLAlchemy's traceback ending in the INSERT and its parameters: the new
    user's key salt and hash, the person's token."""
    line = one_line_failure(tmp_path, *command,
                            SAFEGUARD_DATABASE_URL=read_only(tmp_path / "api.db"))
    assert line.startswith(f"error: the database could not be used ({READ_ONLY}); "), line
    assert "INSERT" not in line and "P-TOKEN-OF-A-CHILD" not in line
    store = Store(f"sqlite:///{tmp_path / 'api.db'}")
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
    store.dispose()
    assert not (tmp_path / "sar.html").exists()


def test_the_503_of_a_refused_write_is_logged_with_the_drivers_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The log said `store unavailable (OperationalError)` for a full disk, a read-only
    file and a database gone alike, while `/readyz` (a read) said ready."""
    path = tmp_path / "api.db"
    init_db(f"sqlite:///{path}")
    keys, _ = issue_keys(make_settings(f"sqlite:///{path}"))
    caplog.set_level(logging.WARNING, logger="api.routes.errors")
    with TestClient(create_app(make_settings(read_only(path)), FakeScorer())) as client:
        answer = client.post("/v1/score", json=factories.case(events=3),
                             headers={"Authorization": f"Bearer {keys['triage']}"})
    assert answer.status_code == 503, answer.text
    assert f"store unavailable ({READ_ONLY}): answering 503" in caplog.text
    assert "INSERT" not in caplog.text
