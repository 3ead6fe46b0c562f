"""The event loop never waits on the audit chain's locks: while another process holds the
append lock, a worker still answers `/healthz` (and its scores are stored once the lock
is free)."""

from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.store import AuditEntry, Store, init_db
from tests.api import factories
from tests.api.conftest import issue_keys, make_settings
from tests.api.fakes import FakeScorer


def test_healthz_answers_while_another_process_holds_the_append_lock(tmp_path: Path) -> None:
    database = tmp_path / "api.db"
    url = f"sqlite:///{database}"
    init_db(url)
    settings = make_settings(url)
    keys, _ = issue_keys(settings)
    scored: list[int] = []
    with TestClient(create_app(settings, FakeScorer())) as client:
        # flock locks belong to an open file: this one stands for another process's append.
        with open(f"{database}.audit-lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            scoring = threading.Thread(target=lambda: scored.append(client.post(
                "/v1/score", json=factories.case(),
                headers={"Authorization": f"Bearer {keys['triage']}"}).status_code))
            scoring.start()
            time.sleep(1.0)  # the score is computed and waits for the lock
            assert scoring.is_alive() and not scored
            healthy: list[int] = []
            probe = threading.Thread(
                target=lambda: healthy.append(client.get("/healthz").status_code), daemon=True)
            probe.start()
            probe.join(timeout=5)
            still_waiting = scoring.is_alive()  # nothing was written around the lock
        # (the lock is free again here, so a loop that was stuck on it comes free too)
        assert healthy == [200], "/healthz did not answer while the append lock was held"
        assert still_waiting
        scoring.join(timeout=30)
    assert scored == [200]
    store = Store(url)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "score")) == 1
    store.dispose()
