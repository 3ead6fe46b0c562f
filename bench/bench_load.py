"""Mixed traffic for a minute: scores, case views, decisions and audit reads against
`safeguard serve` on 127.0.0.1, at the throughput the service reaches.

Uses bench_api.py's model and case (trained on first use into its state folder), a
fresh database with a triage and a governance user, and `--clients` closed-loop
clients (threads with one keep-alive connection each), each sending its next request
as soon as the last is answered: half scores of new referrals (the realistic case
under a new referral id), then views of a referral the client scored, decisions on
one (each naming the one it replaces) and reads of an audit page. After `--warmup`
seconds the measured run lasts `--duration` seconds.

Prints requests per second, errors (any answer but 200 or 201, or none), p50 and p99
latency per kind of request and overall, and each worker's resident memory after the
warm-up and at the end (flat: the end within 10% of after the warm-up), with the score
latency against bench_api.py's target median as a ratio; then the reference, measured
after the run: `CaseScorer.rate_cases` in-process on the same case, one thread.

Run: .venv/bin/python bench/bench_load.py [--duration 60] [--warmup 10] [--clients 8]
     [--workers W] [--state DIR] [--in-process-repeats N] [--json PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench_api import TARGET_MEDIAN_MS
from bench_service import (
    BENCH_PEPPER,
    ROOT,
    approve_champion,
    child_pids,
    ensure_model,
    free_port,
    in_process,
    pick_case,
    start_service,
    state_settings,
)
from results import Figure, Target, add_json_argument, write_figures

MIX = (("score", 0.5), ("case_view", 0.2), ("decision", 0.15), ("audit_read", 0.15))
FLAT = 0.10


def add_users(state: Path) -> dict[str, str]:
    """A fresh database with a triage and a governance user and the champion approved;
    their keys."""
    from api.api_keys import KeyHasher, issue_key
    from api.store import Store, init_db

    for leftover in ("api.db", "api.db-wal", "api.db-shm"):
        (state / leftover).unlink(missing_ok=True)
    url = state_settings(state)["SAFEGUARD_DATABASE_URL"]
    init_db(url)
    store = Store(url)
    with store.session() as session:
        keys = {role: issue_key(session, KeyHasher(BENCH_PEPPER), name=f"load-{role}",
                                role=role).key for role in ("triage", "governance")}
        session.commit()
    store.dispose()
    approve_champion(state, url)  # the service serves no unapproved model
    return keys


class Client(threading.Thread):
    """One closed-loop client: its own connection, referrals and decisions."""

    def __init__(self, number: int, port: int, case: dict[str, Any], keys: dict[str, str],
                 *, stop: threading.Event, measuring: threading.Event) -> None:
        super().__init__(daemon=True)
        self.number, self.port, self.case, self.keys = number, port, case, keys
        self.stop, self.measuring = stop, measuring
        self.random = random.Random(number)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.referrals: dict[str, int | None] = {}  # referral id -> latest decision id
        self.sent = 0

    def _call(self, method: str, path: str, role: str, body: Any = None
              ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        answer = self.connection.getresponse()
        payload = answer.read()
        return answer.status, json.loads(payload) if payload else None

    def _next(self) -> tuple[str, str, str, str, Any]:
        kind = self.random.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        if kind == "score" or not self.referrals:
            self.sent += 1
            referral = f"L{self.number}-{self.sent}"
            body = {**self.case, "referral": {**self.case["referral"], "referral_id": referral}}
            return "score", "POST", "/v1/score", "triage", body
        referral = self.random.choice(list(self.referrals))
        if kind == "case_view":
            return kind, "GET", f"/v1/referrals/{referral}", "triage", None
        if kind == "audit_read":
            after = self.random.randrange(0, 1000)
            return kind, "GET", f"/v1/audit?limit=50&after_seq={after}", "governance", None
        body = {"referral_id": referral, "practitioner_rag": "amber", "next_step": "visit",
                "agrees_with_band": False, "reason": "bench: load test",
                "previous_decision_id": self.referrals[referral]}
        return "decision", "POST", "/v1/decisions", "triage", body

    def run(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stop.is_set():
            kind, method, path, role, body = self._next()
            started = time.perf_counter()
            try:
                status, answer = self._call(method, path, role, body)
            except (OSError, http.client.HTTPException):
                status, answer = 0, None
                self.connection.close()
            elapsed = time.perf_counter() - started
            if kind == "score" and status == 200:
                self.referrals[body["referral"]["referral_id"]] = None
            if kind == "decision" and status == 201:
                self.referrals[body["referral_id"]] = answer["id"]
            if self.measuring.is_set():
                self.latencies[kind].append(elapsed)
                self.statuses[(kind, status)] += 1


def worker_rss_mib(server_pid: int) -> dict[int, float]:
    """Resident memory of each worker process, in MiB."""
    sizes = {}
    for pid in child_pids(server_pid):
        status = Path(f"/proc/{pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmRSS:"))
        sizes[pid] = kib / 1024
    return sizes


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def report(clients: list[Client], seconds: float, rss: tuple[dict[int, float], dict[int, float]]
           ) -> dict[str, float]:
    """Print the figures of the measured run; return the main ones."""
    statuses: Counter[tuple[str, int]] = sum((c.statuses for c in clients), Counter())
    latencies: dict[str, list[float]] = defaultdict(list)
    for client in clients:
        for kind, values in client.latencies.items():
            latencies[kind].extend(values)
    total = sum(statuses.values())
    errors = sum(n for (_, status), n in statuses.items() if status not in (200, 201))
    print(f"{total:,} requests in {seconds:.0f} s: {total / seconds:.1f} per second; "
          f"errors: {errors} ({dict(statuses)})")
    every = [v for values in latencies.values() for v in values]
    for kind, values in [*sorted(latencies.items()), ("all", every)]:
        p50, p99 = _percentiles(values)
        print(f"  {kind:<10} {len(values):>6,} requests  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
    p50_score = _percentiles(latencies["score"])[0]
    print(f"score p50 / bench_api's target median ({TARGET_MEDIAN_MS:.0f} ms): "
          f"{p50_score / TARGET_MEDIAN_MS:.2f}")
    warm, end = rss
    for pid in sorted(warm):
        if pid in end:
            ratio = end[pid] / warm[pid]
            verdict = "flat" if abs(ratio - 1) <= FLAT else "NOT flat"
            print(f"  worker {pid}: RSS {warm[pid]:.0f} MiB after warm-up, {end[pid]:.0f} MiB "
                  f"at the end: x{ratio:.3f} ({verdict})")
        else:
            print(f"  worker {pid}: replaced during the run")
    grown = max((pid for pid in warm if pid in end), key=lambda pid: end[pid] / warm[pid])
    return {"rps": total / seconds, "errors": errors, "score_p50": p50_score,
            "rss_warm": warm[grown], "rss_end": end[grown]}


def write_json(path: Path | None, figures: dict[str, float], one_thread_ms: float,
               args: argparse.Namespace) -> None:
    """The figures as JSON (`--json`), beside the in-process path measured in the same run."""
    rate = args.workers * 1000 / one_thread_ms
    write_figures(path, "bench_load", [
        Figure("mixed traffic, requests per second", figures["rps"], "per s",
               "in-process rate_cases rate, one per worker", rate),
        Figure("mixed traffic, score median latency", figures["score_p50"], "ms",
               "in-process rate_cases, one thread", one_thread_ms),
        Figure("mixed traffic, worker RSS at the end (most grown worker)",
               figures["rss_end"], "MiB", "its RSS after the warm-up", figures["rss_warm"],
               target=Target("<=", 1 + FLAT, of="ratio"))],
        {"clients": args.clients, "workers": args.workers, "seconds": args.duration,
         "errors": figures["errors"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--referrals", type=int, default=20_000)
    parser.add_argument("--state", type=Path, default=ROOT / "bench" / "out" / "api")
    parser.add_argument("--in-process-repeats", type=int, default=200,
                        help="Calls in each round of the in-process reference.")
    add_json_argument(parser)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    state = args.state.resolve()
    ensure_model(state, args.referrals, fresh=False)
    case = pick_case(state)
    keys = add_users(state)
    port = free_port()
    server = start_service(state, port, state / "load-serve.log", args.workers)
    stop, measuring = threading.Event(), threading.Event()
    clients = [Client(n, port, case, keys, stop=stop, measuring=measuring)
               for n in range(args.clients)]
    try:
        for client in clients:
            client.start()
        time.sleep(args.warmup)
        warm = worker_rss_mib(server.pid)
        measuring.set()
        started = time.monotonic()
        time.sleep(args.duration)
        measuring.clear()
        seconds = time.monotonic() - started
        end = worker_rss_mib(server.pid)
        stop.set()
        for client in clients:
            client.join(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=90)
    print(f"{args.clients} clients, {args.workers} workers, a case of {len(case['events'])} "
          f"records, {args.warmup:.0f} s warm-up")
    figures = report(clients, seconds, (warm, end))
    bare = in_process(state, case, repeats=args.in_process_repeats)
    print(f"reference, in-process rate_cases (one thread): {bare['one_thread']:.2f} ms")
    write_json(args.json, figures, bare["one_thread"], args)


if __name__ == "__main__":
    main()
