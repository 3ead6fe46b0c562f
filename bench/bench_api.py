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
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bare_fleet import BareFleet
from bench_service import (
    ROOT,
    add_user,
    cpu_seconds,
    ensure_model,
    free_port,
    in_process,
    pick_case,
    start_service,
    state_settings,
)
from results import Figure, Target, add_json_argument, write_figures

LOCAL_WRK = ROOT / "var" / "tools" / "usr" / "bin" / "wrk"
TARGET_RPS, TARGET_MEDIAN_MS, TARGET_RATIO = 150.0, 25.0, 0.70

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


def find_wrk() -> list[str]:
    """The wrk command (with its unpacked library folder when it is the local copy)."""
    if found := shutil.which("wrk"):
        return [found]
    if LOCAL_WRK.exists():
        libraries = LOCAL_WRK.parents[1] / "lib" / "x86_64-linux-gnu"
        return ["env", f"LD_LIBRARY_PATH={libraries}", str(LOCAL_WRK)]
    sys.exit("wrk is not installed: run `make wrk` (unpacks the Debian package into var/tools)")


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
