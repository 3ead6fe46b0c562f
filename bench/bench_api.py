"""Serving speed: POST /v1/score under wrk (8 and 64 connections) beside the in-process path.

Trains a model on a synthetic extract (20,000 referrals; kept in the state folder
and reused on later runs), picks one realistic case (a referral with a few hundred
agency records), starts `safeguard serve` on 127.0.0.1 (one worker per core by
default) and drives POST /v1/score with wrk from the same machine. Every request is
a real score: validated, authenticated, stored, audited and explained.

Prints the in-process time of the same case (`CaseScorer.rate_cases`, one OpenMP
thread, fastest of 5 medians of 200), then alternating pairs of runs of equal length:
the bare path's capacity on the same cores (one in-process scorer per core, all at
once: `bare_fleet.py`) and the served runs, one per number of connections
(requests per second, median and p99 latency, the server's CPU time per request,
cases per batch). The speed of a shared machine drifts from minute to minute; each
pair sees the same drift. The figures are the medians over the pairs, with served /
in-process throughput as the ratio, and beside it the ratio against the
one-process rate times the cores.

With `--before DIR` (a source tree of other code, e.g. `git archive` of an older
commit), that code's `safeguard serve` runs too, on the same database and model, and
each pair's served runs alternate between this code and that one.

Run: .venv/bin/python bench/bench_api.py [--referrals N] [--duration S] [--pairs P]
     [--connections 8,64] [--workers W] [--state DIR] [--fresh] [--before DIR]
     [--in-process-repeats N] [--json PATH]
wrk: on the PATH, or unpacked by `make wrk` into var/tools (no root needed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bare_fleet import BareFleet, bench_registry
from results import Figure, Target, add_json_argument, write_figures
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
SAFEGUARD = ROOT / ".venv" / "bin" / "safeguard"
LOCAL_WRK = ROOT / "var" / "tools" / "usr" / "bin" / "wrk"
BENCH_PEPPER = "bench-only-pepper-" + "b" * 32
TARGET_RPS, TARGET_MEDIAN_MS, TARGET_RATIO = 150.0, 25.0, 0.70
CASE_RECORDS = (200, 400)

# Prints one JSON line after the run: wrk's own latency histogram and counters.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"mean_us": %.1f, "max_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def state_settings(state: Path) -> dict[str, str]:
    """The environment that points `safeguard` at the bench's own database and registry."""
    return {
        "SAFEGUARD_DATABASE_URL": f"sqlite:///{state / 'api.db'}",
        "SAFEGUARD_MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(state / "mlartifacts"),
        "SAFEGUARD_API_KEY_PEPPER": BENCH_PEPPER,
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def find_wrk() -> list[str]:
    """The wrk command (with its unpacked library folder when it is the local copy)."""
    if found := shutil.which("wrk"):
        return [found]
    if LOCAL_WRK.exists():
        libraries = LOCAL_WRK.parents[1] / "lib" / "x86_64-linux-gnu"
        return ["env", f"LD_LIBRARY_PATH={libraries}", str(LOCAL_WRK)]
    sys.exit("wrk is not installed: run `make wrk` (unpacks the Debian package into var/tools)")


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
                                 config=default_config(0), card_writer=log_card)
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
    if registry.read_artifact(info.version, CARD_HTML_ARTIFACT) is None:
        log_card(registry, info)
    missed = unmet(acceptance_checks(read_sources(registry, info.version)))
    store = Store(url)
    with store.session() as session:
        record_decision(session, registry, user="bench", role=GOVERNANCE, version=info.version,
                        decision="approve", reason="bench_api: a benchmark, not a decision",
                        waivers={c.name: "benchmark only" for c in missed})
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


def run_wrk(wrk: list[str], url: str, script: Path, *, seconds: int, connections: int
            ) -> dict[str, Any]:
    """One wrk run (one thread, `connections` connections); its JSON report."""
    done = subprocess.run(
        [*wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    report: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    return report


def batches(port: int) -> tuple[float, float]:
    """(batches, cases in them) so far, from the service's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    figures = {}
    for line in text.splitlines():
        for name in ("count", "sum"):
            if line.startswith(f"safeguard_score_batch_cases_{name} "):
                figures[name] = float(line.split()[1])
    return figures.get("count", 0.0), figures.get("sum", 0.0)


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


def _served_run(wrk: list[str], server: subprocess.Popen[bytes], port: int, script: Path,
                *, seconds: int, connections: int) -> dict[str, Any]:
    """One wrk run against a service, with the server's CPU time and batches meanwhile."""
    url = f"http://127.0.0.1:{port}/v1/score"
    batches_before, cpu_before = batches(port), cpu_seconds(server.pid)
    report = run_wrk(wrk, url, script, seconds=seconds, connections=connections)
    report["server_cpu_s"] = cpu_seconds(server.pid) - cpu_before
    batches_after = batches(port)
    report["batches"] = batches_after[0] - batches_before[0]
    report["batched_cases"] = batches_after[1] - batches_before[1]
    report["connections"] = connections
    return report


def serve_and_load(state: Path, case: dict[str, Any], args: argparse.Namespace
                   ) -> list[dict[str, Any]]:
    """Start the services and the bare scorers; alternate a bare run and the served runs
    (each number of connections, on each service).

    Alternating keeps the two sides of each ratio close in time: the speed of a shared
    machine drifts from minute to minute, and each pair sees the same drift.
    """
    wrk, key = find_wrk(), add_user(state)
    cores = min(args.workers, os.cpu_count() or 1)
    sources = {"this code": None, **({"before": args.before.resolve()} if args.before else {})}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "score.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(case))}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {key}"\n' + WRK_REPORT, encoding="utf-8")
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        fleet: BareFleet | None = None
        try:
            for name, source in sources.items():
                port = free_port()
                log = state / f"serve-{name.replace(' ', '-')}.log"
                servers[name] = (start_service(state, port, log, args.workers, source), port)
                run_wrk(wrk, f"http://127.0.0.1:{port}/v1/score", script, seconds=3,
                        connections=8)  # warm-up
            fleet = BareFleet(state_settings(state), case, cores)
            for number in range(1, args.pairs + 1):
                bare_rate = fleet.throughput(args.duration)
                for connections in args.connections:
                    for name, (server, port) in servers.items():
                        report = _served_run(wrk, server, port, script, seconds=args.duration,
                                             connections=connections)
                        runs.append({**report, "bare_rate": bare_rate, "code": name,
                                     "pair": number})
        finally:
            for server, _ in servers.values():
                server.terminate()
            if fleet is not None:
                fleet.close()
            for server, _ in servers.values():
                server.wait(timeout=60)
    return runs


def _served(report: dict[str, Any]) -> dict[str, float]:
    seconds = report["duration_us"] / 1e6
    return {
        "rps": report["requests"] / seconds,
        "median": report["p50_us"] / 1000,
        "p99": report["p99_us"] / 1000,
        "errors": sum(report[k] for k in ("connect", "read", "write", "status", "timeout")),
        "cpu_ms": report["server_cpu_s"] / report["requests"] * 1000,
        "per_batch": report["batched_cases"] / max(report["batches"], 1),
        "ratio": report["requests"] / seconds / report["bare_rate"],
    }


def print_figures(runs: list[dict[str, Any]], bare: dict[str, float], case: dict[str, Any],
                  args: argparse.Namespace) -> None:
    cores = min(args.workers, os.cpu_count() or 1)
    print(f"case: {len(case['events'])} agency records, "
          f"{len(case['household_members'])} household members, "
          f"{len(case['previous_referrals'])} previous referrals; "
          f"{os.cpu_count()} CPUs shared by the server and wrk")
    print(f"in-process CaseScorer.rate_cases (fastest of 5 medians of 200): "
          f"{bare['one_thread']:.2f} ms (one OpenMP thread, as served; "
          f"{bare['default_threads']:.2f} ms with the default threads)")
    for report in runs:
        row = _served(report)
        print(f"pair {report['pair']}: in-process {report['bare_rate']:.0f} cases/s on {cores} "
              f"process(es) at once | {report['code']} served ({args.workers} worker(s); wrk, "
              f"{report['connections']} connections, {args.duration} s) {row['rps']:.1f} "
              f"requests/s, median {row['median']:.1f} ms, p99 {row['p99']:.1f} ms, "
              f"{report['requests']} requests, {row['errors']} errors{_kinds(report)}, server CPU "
              f"{row['cpu_ms']:.2f} ms per request, {row['per_batch']:.2f} cases per batch | "
              f"served / in-process {row['ratio']:.2f}")
    for code in dict.fromkeys(report["code"] for report in runs):
        for connections in args.connections:
            rows = [_served(r) for r in runs
                    if r["code"] == code and r["connections"] == connections]
            _print_summary(code, connections, rows, bare, cores)


def _kinds(report: dict[str, Any]) -> str:
    """The kinds of wrk's errors, when there are any: " (timeout 12, read 3)"."""
    kinds = [f"{kind} {report[kind]}" for kind in ("connect", "read", "write", "status",
                                                   "timeout") if report[kind]]
    return f" ({', '.join(kinds)})" if kinds else ""


def _print_summary(code: str, connections: int, rows: list[dict[str, float]],
                   bare: dict[str, float], cores: int) -> None:
    def mid(name: str) -> float:
        return statistics.median(row[name] for row in rows)

    rps, median, ratio = mid("rps"), mid("median"), mid("ratio")
    errors = sum(row["errors"] for row in rows)
    assumed = rps / (cores * 1000 / bare["one_thread"])
    print(f"{code}, {connections} connections, medians of {len(rows)} pairs: served "
          f"{rps:.1f} requests/s, median {median:.1f} ms, p99 {mid('p99'):.1f} ms, server CPU "
          f"{mid('cpu_ms'):.2f} ms per request; served / in-process on the same {cores} "
          f"core(s) {ratio:.2f} (against {cores} x the one-process rate instead: {assumed:.2f})")
    checks = [(f"throughput >= {TARGET_RPS:.0f} requests/s", rps >= TARGET_RPS),
              ("no errors", errors == 0)]
    if connections <= 8:
        checks.append((f"median < {TARGET_MEDIAN_MS:.0f} ms", median < TARGET_MEDIAN_MS))
    if connections >= 64:
        checks.append((f"served >= {TARGET_RATIO:.0%} of in-process on the same cores",
                       ratio >= TARGET_RATIO))
    for name, ok in checks:
        print(f"  {'met ' if ok else 'MISSED'} {name}")


def write_json(path: Path | None, runs: list[dict[str, Any]], bare: dict[str, float],
               args: argparse.Namespace) -> None:
    """This code's figures as JSON (`--json`): medians over the pairs, each beside the
    in-process path measured in the same run."""
    figures = []
    for connections in args.connections:
        rows = [_served(r) for r in runs
                if r["code"] == "this code" and r["connections"] == connections]
        rates = [r["bare_rate"] for r in runs
                 if r["code"] == "this code" and r["connections"] == connections]
        served = f"served POST /v1/score, {connections} connections"
        target = Target(">=", TARGET_RATIO, of="ratio") if connections >= 64 else \
            Target(">=", TARGET_RPS)
        figures += [
            Figure(f"{served}, throughput", statistics.median(r["rps"] for r in rows), "per s",
                   "in-process CaseScorer, one process per core at once",
                   statistics.median(rates), target=target),
            Figure(f"{served}, median latency", statistics.median(r["median"] for r in rows),
                   "ms", "in-process rate_cases, one thread", bare["one_thread"],
                   target=Target("<", TARGET_MEDIAN_MS) if connections <= 8 else None),
            Figure(f"{served}, p99 latency", statistics.median(r["p99"] for r in rows), "ms",
                   "in-process rate_cases, one thread", bare["one_thread"])]
    write_figures(path, "bench_api", figures,
                  {"pairs": args.pairs, "seconds per run": args.duration,
                   "workers": args.workers, "errors": sum(
                       _served(r)["errors"] for r in runs if r["code"] == "this code")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=10,
                        help="Seconds of each measured run (bare and served).")
    parser.add_argument("--pairs", type=int, default=3,
                        help="Alternating bare / served runs; the figures are their medians.")
    parser.add_argument("--connections", type=lambda text: [int(n) for n in text.split(",")],
                        default=[8, 64], help="Connections of each served run: 8,64.")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="Server processes (`safeguard serve --workers`); one per core.")
    parser.add_argument("--state", type=Path, default=ROOT / "bench" / "out" / "api")
    parser.add_argument("--fresh", action="store_true", help="Retrain even if a model exists.")
    parser.add_argument("--before", type=Path, default=None,
                        help="A source tree of other code to serve alternately (its api/).")
    parser.add_argument("--in-process-repeats", type=int, default=200,
                        help="Calls in each round of the in-process reference.")
    add_json_argument(parser)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    state = args.state.resolve()
    ensure_model(state, args.referrals, args.fresh)
    case = pick_case(state)
    bare = in_process(state, case, repeats=args.in_process_repeats)
    runs = serve_and_load(state, case, args)
    print_figures(runs, bare, case, args)
    write_json(args.json, runs, bare, args)


if __name__ == "__main__":
    main()
