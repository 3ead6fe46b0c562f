"""A version's standing with governance, as `safeguard model list` reads it: one
version's check failing leaves the others' standing readable, on either database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import approvals
from api.store import Store
from api.version_standing import _one


def test_one_versions_failed_check_leaves_the_next_readable(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL aborts a transaction on an SQL error: every version after the failing
    one read "unknown: InFailedSqlTransaction"."""
    real = approvals.decisions_for

    def broken_for_one(session: Session, model_name: str, version: str) -> Any:
        if version == "1":
            session.execute(text("SELECT * FROM no_such_table"))
        return real(session, model_name, version)

    monkeypatch.setattr(approvals, "decisions_for", broken_for_one)
    registry: Any = SimpleNamespace(model_name="standing-test")
    with store.session() as session:
        first = _one(session, registry, "1", board=None, check_gate=False)
        second = _one(session, registry, "2", board=None, check_gate=False)
    assert first.status == "unknown"
    assert (second.status, second.detail) == ("awaiting approval", "")
