"""The benchmarks' own service: its state folder, model, case, users and `safeguard serve`.

Shared by `bench_api.py` (served POST /v1/score under wrk), `bench_load.py` (a day's
mixed traffic), `bench_api_inprocess.py` and `bench_case_rules.py`: a model trained on
a synthetic extract into the state folder on first use (reused after), one realistic
case (a referral with a few hundred agency records), a fresh database with a triage
user and the champion approved, and the service started and waited for.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bare_fleet import bench_registry
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from model.governance import AcceptanceThresholds

ROOT = Path(__file__).resolve().parents[1]
SAFEGUARD = ROOT / ".venv" / "bin" / "safeguard"
BENCH_PEPPER = "bench-only-pepper-" + "b" * 32
# The case: a referral with this many agency records (a realistic, busy one).
CASE_RECORDS = (200, 400)


def bench_board() -> AcceptanceThresholds:
    """The acceptance thresholds the bench's service judges versions against (the
    governance settings this environment names, as its `safeguard serve` reads them)."""
    from api.settings import Settings, board_thresholds

    return board_thresholds(Settings())


def state_settings(state: Path) -> dict[str, str]:
    """The environment that points `safeguard` at the bench's own database and registry."""
    return {
        "SAFEGUARD_DATABASE_URL": f"sqlite:///{state / 'api.db'}",
        "SAFEGUARD_MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(state / "mlartifacts"),
        "SAFEGUARD_API_KEY_PEPPER": BENCH_PEPPER,
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def ensure_model(state: Path, referrals: int, fresh: bool) -> None:
    """Train and promote a model in the state folder, unless one is there already."""
    from model.registry import RegistryError
    from model.workflow import default_config, train_and_register
    from pipelines.synth import SynthConfig, generate_extract

    env = state_settings(state)
    if fresh and state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    registry = bench_registry(env)
    try:
        registry.resolve("champion")
        print(f"reusing the model in {state} (--fresh to retrain)")
        return
    except RegistryError:
        pass
    extract = state / "extract"
    print(f"training on a synthetic extract of {referrals:,} referrals ...", flush=True)
    generate_extract(SynthConfig(n_referrals=referrals, seed=7, file_format="parquet",
                                 corrupt=False), out_dir=extract)
    from api.model_card import log_card

    outcome = train_and_register(extract, registry=registry, experiment="bench",
                                 config=default_config(0),
                                 card_writer=partial(log_card, board=bench_board()))
    registry.promote(outcome.version.version, "champion")


def pick_case(state: Path) -> dict[str, Any]:
    """A referral with a few hundred agency records, as the JSON a hub would send."""
    cached = state / "case.json"
    if cached.exists():
        case: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return case
    from data_contracts import validate_extract
    from pipelines.case import case_payload_from_frames

    frames = dict(validate_extract(state / "extract").feeds)
    low, high = CASE_RECORDS
    for referral_id in frames["referrals"]["referral_id"].sample(frac=1.0, random_state=3):
        case = json.loads(json.dumps(case_payload_from_frames(frames, referral_id), default=str))
        if low <= len(case["events"]) <= high:
            cached.write_text(json.dumps(case), encoding="utf-8")
            return case
    sys.exit(f"no referral with {low} to {high} records in the extract")


def in_process(state: Path, case: dict[str, Any], repeats: int = 200, rounds: int = 5
               ) -> dict[str, float]:
    """Time of `CaseScorer.rate_cases` on the case, one thread, as the server runs it.

    The median of `repeats` calls, in each of `rounds` rounds; the fastest round counts.
    Other load on the machine only ever slows a round, so the fastest is the truest
    figure for what the bare path could do (and the hardest for the server to match).
    """
    from model.service import CaseScorer

    env = state_settings(state)
    registry = bench_registry(env)
    scorer = CaseScorer(registry.load("champion"))
    figures = {}
    for label, limit in (("one_thread", 1), ("default_threads", None)):
        with threadpool_limits(limit):
            for _ in range(20):
                scorer.rate_cases([case])
            medians = []
            for _ in range(rounds):
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    scorer.rate_cases([case])
                    times.append(time.perf_counter() - start)
                medians.append(statistics.median(times))
        figures[label] = min(medians) * 1000
    return figures


def approve_champion(state: Path, url: str) -> None:
    """Record a bench approval of the champion (the service serves no unapproved model),
    waiving by name whatever it misses: a benchmark, not a governance decision."""
    from api.approvals import record_decision
    from api.model_card import log_card
    from api.roles import GOVERNANCE
    from api.store import Store
    from model.acceptance import unmet
    from model.card import acceptance_checks
    from model.card_sources import CARD_HTML_ARTIFACT, read_sources

    registry = bench_registry(state_settings(state))
    info = registry.resolve("champion")
    board = bench_board()  # as the bench's service judges the version
    if registry.read_artifact(info.version, CARD_HTML_ARTIFACT) is None:
        log_card(registry, info, board=board)
    missed = unmet(acceptance_checks(read_sources(registry, info.version), board=board))
    store = Store(url)
    with store.session() as session:
        record_decision(session, registry, user="bench", role=GOVERNANCE, version=info.version,
                        decision="approve", reason="bench_api: a benchmark, not a decision",
                        waivers={c.name: "benchmark only" for c in missed}, board=board)
    store.dispose()


def add_user(state: Path) -> str:
    """A fresh database with one triage user and the champion approved; the user's key."""
    from api.api_keys import KeyHasher, issue_key
    from api.store import Store, init_db

    for leftover in ("api.db", "api.db-wal", "api.db-shm"):  # a stale WAL would corrupt
        (state / leftover).unlink(missing_ok=True)
    url = state_settings(state)["SAFEGUARD_DATABASE_URL"]
    init_db(url)
    store = Store(url)
    with store.session() as session:
        issued = issue_key(session, KeyHasher(BENCH_PEPPER), name="bench", role="triage")
        session.commit()
    store.dispose()
    approve_champion(state, url)
    return issued.key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def safeguard_command(source: Path | None) -> tuple[list[str], dict[str, str]]:
    """How to run `safeguard`: this checkout's, or that of the source tree `source` (run
    by this checkout's Python, so both use the same libraries)."""
    if source is None:
        return [str(SAFEGUARD)], {}
    entry = "import sys; from api.cli import main; sys.argv[0] = 'safeguard'; main()"
    return [sys.executable, "-P", "-c", entry], {"PYTHONPATH": str(source)}


def start_service(state: Path, port: int, log: Path, workers: int, source: Path | None = None
                  ) -> subprocess.Popen[bytes]:
    """`safeguard serve` on 127.0.0.1, waited for until /readyz answers 200."""
    command, extra = safeguard_command(source)
    env = {**os.environ, **state_settings(state), **extra}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--workers", str(workers)],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600  # each worker loads and checks the model
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the service exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit(f"the service was not ready within 600 s; see {log}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its children (the workers) so far."""
    total = 0.0
    for process in [pid, *child_pids(pid)]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found = (task / "children").read_text().split()
        children.extend(int(child) for child in found)
    return children
