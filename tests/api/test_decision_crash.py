"""Concurrent decisions while a server worker is killed with SIGKILL, on SQLite and on
PostgreSQL: every acknowledged decision is stored exactly once, no history forks, and
`safeguard audit verify` passes."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.auth import Principal
from api.case_payload import CasePayload
from api.roles import TRIAGE
from api.routes.scores import ScoreRequest
from api.routes.scores import _store_and_audit as store_and_audit
from api.store import AuditEntry, Decision, Store
from tests.api import factories
from tests.api.conftest import empty_registry, issue_keys, make_settings
from tests.api.fakes import FakeScorer
from tests.api.served import SAFEGUARD, Served, call, service_env, serving

REFERRALS = 24
CHANGES = 4  # decisions per referral after the first
RACERS = 3  # clients sending each referral's first decision at once


def _scored_referrals(url: str) -> list[str]:
    """Referrals scored green by the fake scorer, stored and audited as the service stores
    them (the served workers need no model)."""
    cases = [CasePayload.model_validate(factories.case(events=3)) for _ in range(REFERRALS)]
    results = FakeScorer().score_cases(cases)
    store = Store(url)
    asked = [ScoreRequest(Principal("t", TRIAGE), case, "0" * 64) for case in cases]
    store_and_audit(store, list(zip(asked, results, strict=True)))
    store.dispose()
    return [r.referral_id for r in results]


class Decider:
    """Sends decisions through the served API and keeps those acknowledged (201)."""

    def __init__(self, served: Served, key: str) -> None:
        self.served, self.key = served, key
        self.acknowledged: list[dict[str, Any]] = []
        self.failures: Counter[str] = Counter()
        self._lock = threading.Lock()

    def post(self, body: dict[str, Any]) -> int | None:
        """The decision's id when acknowledged, else None (a 409, a 5xx, a cut connection)."""
        try:
            code, text = call(
                f"{self.served.base}/v1/decisions", body=body, key=self.key, timeout=30
            )
        except (OSError, http.client.HTTPException) as exc:
            self.failures[type(exc).__name__] += 1
            return None
        if code != 201:
            self.failures[str(code)] += 1
            return None
        stored = json.loads(text)
        with self._lock:
            self.acknowledged.append(stored)
        return int(stored["id"])

    def latest(self, rid: str) -> int | None:
        """The referral's latest decision as the service shows it (retried through a crash)."""
        for _ in range(20):
            try:
                code, text = call(f"{self.served.base}/v1/referrals/{rid}", key=self.key)
            except (OSError, http.client.HTTPException):
                code = 0
            if code == 200:
                decisions = json.loads(text)["decisions"]
                return int(decisions[-1]["id"]) if decisions else None
            time.sleep(0.2)
        raise AssertionError(f"the service did not show referral {rid}: {code}")

    def decide(self, rid: str) -> None:
        """A first decision raced by `RACERS` clients, then `CHANGES` changes, each naming
        the latest decision (re-read when a request was not acknowledged)."""
        with ThreadPoolExecutor(RACERS) as pool:
            list(
                pool.map(
                    lambda n: self.post(factories.decision(rid, next_step=f"first {n}")),
                    range(RACERS),
                )
            )
        for change in range(CHANGES):
            previous = self.latest(rid)
            self.post(
                factories.decision(rid, next_step=f"change {change}", previous_decision_id=previous)
            )


def _kill_a_worker(served: Served, stop: threading.Event) -> int | None:
    """SIGKILL one worker while decisions are in flight (the other serves on; its
    replacement takes longer to boot than the decisions take)."""
    if stop.wait(0.5):
        return None
    victim = served.worker_starts()[-1]
    os.kill(victim, signal.SIGKILL)
    return victim


@pytest.mark.slow
def test_decisions_through_worker_kills_are_stored_once_and_never_fork(
    fresh_database_url: str, tmp_path: Path
) -> None:
    url = fresh_database_url
    referrals = _scored_referrals(url)
    keys, _ = issue_keys(make_settings(url))
    env = service_env(url, empty_registry(tmp_path / "mlflow"))
    with serving(env, tmp_path / "serve.log", "--workers", "2", "--timeout", "10") as served:
        # a worker takes seconds to boot on a quiet machine, minutes on a busy one
        served.until(lambda: len(served.worker_starts()) >= 2, seconds=400)
        served.until(lambda: call(f"{served.base}/healthz", timeout=5)[0] == 200)
        decider, stop = Decider(served, keys["triage"]), threading.Event()
        with ThreadPoolExecutor(1) as killer:
            killed = killer.submit(_kill_a_worker, served, stop)
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(decider.decide, referrals))
            stop.set()
            assert killed.result(), "the decisions ended before a worker was killed"
    log = served.log.read_text()
    assert len(decider.acknowledged) >= REFERRALS, (decider.failures, log)

    store = Store(url)
    with store.session() as session:
        rows = {d.id: d for d in session.scalars(select(Decision))}
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "decision")).all()
    store.dispose()
    for ack in decider.acknowledged:  # each acknowledged decision stored, as acknowledged
        row = rows[ack["id"]]
        assert (row.referral_id, row.next_step, row.previous_decision_id) == (
            ack["referral_id"],
            ack["next_step"],
            ack["previous_decision_id"],
        )
    firsts = Counter(d.referral_id for d in rows.values() if d.previous_decision_id is None)
    assert max(firsts.values()) == 1  # no referral has two first decisions
    successors = Counter(d.previous_decision_id for d in rows.values())
    assert all(n == 1 for prev, n in successors.items() if prev is not None)
    assert len(audited) == len(rows)  # every stored decision audited once, none half-stored
    verify = subprocess.run(
        [str(SAFEGUARD), "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
