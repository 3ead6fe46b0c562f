"""`safeguard serve --workers N` under gunicorn: the workers score into one database and
one audit chain, a crashed worker and a hung one are replaced, and stopping the service
lets the requests in flight finish."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from api.audit import verify_chain
from api.store import AuditEntry, Store, init_db
from tests.api.conftest import TrainedModel, issue_keys, make_settings, record_test_approval
from tests.api.served import call, service_env, serving

REQUESTS = 24


def _sample(text: str, name: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text,
                                                    flags=re.MULTILINE))


def test_workers_score_into_one_chain_are_replaced_when_they_die_or_hang_and_drain(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    record_test_approval(url, trained_model.registry, trained_model.version)
    keys, _ = issue_keys(make_settings(url, **trained_model.settings_overrides()))
    golden = [case["payload"] for case in trained_model.loaded.golden]
    payloads = [golden[n % len(golden)] for n in range(REQUESTS)]
    env = service_env(url, trained_model.registry)
    with serving(env, tmp_path / "serve.log", "--workers", "2", "--timeout", "4") as served:

        def score(body: object) -> int:
            return call(f"{served.base}/v1/score", body=body, key=keys["triage"])[0]

        served.until(served.ready, seconds=240)
        served.until(lambda: len(served.worker_starts()) >= 2)
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(score, payloads)) == [200] * REQUESTS
        for _ in range(4):  # whichever worker answers, the counts are everyone's
            metrics = call(f"{served.base}/metrics")[1]
            assert _sample(metrics, "safeguard_scores_total") == REQUESTS
            assert re.search(r"^safeguard_model_ready 1\.0$", metrics, flags=re.MULTILINE)

        crashed, hung = served.worker_starts()[:2]
        os.kill(crashed, signal.SIGKILL)  # a crash: the other serves, a new one starts
        served.until(lambda: len(served.worker_starts()) >= 3)
        assert [score(payloads[0]) for _ in range(4)] == [200] * 4
        os.kill(hung, signal.SIGSTOP)  # alive but silent: replaced after the timeout
        served.until(lambda: len(served.worker_starts()) >= 4, seconds=120)
        assert f"WORKER TIMEOUT (pid:{hung})" in served.log.read_text()
        served.until(served.ready)
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(score, payloads[:8])) == [200] * 8

        # Stopping drains: a batch already being scored is answered, then the service ends.
        answered: list[int] = []
        cases = [{**case, "referral": {**case["referral"], "referral_id": f"B{n}"}}
                 for n, case in enumerate(golden * 4)]  # a batch names each referral once
        batch = threading.Thread(target=lambda: answered.append(call(
            f"{served.base}/v1/score/batch", body={"cases": cases}, key=keys["triage"])[0]))
        batch.start()
        time.sleep(1.0)
        served.process.send_signal(signal.SIGTERM)
        batch.join(timeout=120)
        assert served.process.wait(timeout=90) == 0, served.log.read_text()
    assert answered == [200], served.log.read_text()
    store = Store(url)
    with store.session() as session:
        assert verify_chain(session).ok
        entries = session.scalars(select(AuditEntry)).all()
    store.dispose()
    assert sum(e.action == "score" for e in entries) == REQUESTS + 4 + 8 + len(golden) * 4
