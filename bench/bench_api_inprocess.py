"""CPU per `POST /v1/score` request with no network: the served app driven in-process.

The real worker app (`api.service.worker_app`: model loaded and checked, SQLite store,
audit) is called as an ASGI application on uvloop, `--concurrency` requests at a time
(so the batcher sees them together, as under the bench's 8 clients on 2 workers), with
the case and model of `bench_api.py` (run that first: it trains the model). Prints the
process CPU time per request of each round, then the fastest and the median round.
Steadier than the served bench for comparing two versions of the code: no wrk, no
sockets, no other worker on the core.

The reference: `CaseScorer.rate_cases` alone on the same case (one thread, CPU time,
as many rounds and calls), after the app's rounds.

Run: .venv/bin/python bench/bench_api_inprocess.py [--rounds R] [--requests N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import uvloop
from bare_fleet import bench_registry
from bench_service import ROOT, add_user, pick_case, state_settings
from results import Figure, add_json_argument, write_figures
from threadpoolctl import threadpool_limits


def _scope(body: bytes, key: str) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
               (b"authorization", f"Bearer {key}".encode()),
               (b"content-length", str(len(body)).encode())]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/v1/score", "raw_path": b"/v1/score",
            "query_string": b"", "root_path": "", "headers": headers, "state": {},
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}


async def _score(app: Any, scope: dict[str, Any], body: bytes) -> None:
    """One request through the whole app; fails unless it answers 200."""
    delivered, statuses = False, []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # nothing more will come: wait as a client that stays would
            await asyncio.Event().wait()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(dict(scope), receive, send)
    if statuses != [200]:
        sys.exit(f"the app answered {statuses}")


async def _rounds(app: Any, body: bytes, key: str, args: argparse.Namespace) -> list[float]:
    scope = _scope(body, key)
    for _ in range(30):  # warm-up
        await asyncio.gather(*(_score(app, scope, body) for _ in range(args.concurrency)))
    per_request = []
    for _ in range(args.rounds):
        started = time.process_time()
        for _ in range(args.requests // args.concurrency):
            await asyncio.gather(*(_score(app, scope, body) for _ in range(args.concurrency)))
        spent = time.process_time() - started
        per_request.append(spent / (args.requests // args.concurrency * args.concurrency))
    return per_request


def bare_cpu(state: Path, case: dict[str, Any], args: argparse.Namespace) -> list[float]:
    """The reference: CPU seconds of `CaseScorer.rate_cases` on the case, one thread (as the
    workers run it), per call, in each of as many rounds of as many calls."""
    from model.service import CaseScorer

    scorer = CaseScorer(bench_registry(state_settings(state)).load("champion"))
    per_call = []
    with threadpool_limits(1):
        for _ in range(30):
            scorer.rate_cases([case])
        for _ in range(args.rounds):
            started = time.process_time()
            for _ in range(args.requests):
                scorer.rate_cases([case])
            per_call.append((time.process_time() - started) / args.requests)
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=800, help="Requests per round.")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="Requests in flight at once (one worker's share of 8 clients).")
    parser.add_argument("--state", type=Path, default=ROOT / "bench" / "out" / "api")
    add_json_argument(parser)
    args = parser.parse_args()
    state = args.state.resolve()
    if not (state / "mlflow.db").exists():
        sys.exit(f"no model in {state}: run bench/bench_api.py first")
    os.environ.update(state_settings(state))
    case, key = pick_case(state), add_user(state)
    from api.service import worker_app

    app = worker_app()
    body = json.dumps(case).encode()
    per_request = uvloop.run(_rounds(app, body, key, args))
    print(f"case: {len(case['events'])} agency records, {args.concurrency} requests at once")
    print("CPU ms per request by round: " + " ".join(f"{s * 1000:.3f}" for s in per_request))
    print(f"fastest round {min(per_request) * 1000:.3f} ms, "
          f"median {statistics.median(per_request) * 1000:.3f} ms per request")
    bare = bare_cpu(state, case, args)
    print(f"reference, CaseScorer.rate_cases alone (one thread): fastest round "
          f"{min(bare) * 1000:.3f} ms CPU per case")
    write_figures(args.json, "bench_api_inprocess", [
        Figure("POST /v1/score through the whole app, in-process, CPU per request",
               min(per_request) * 1000, "ms CPU", "CaseScorer.rate_cases alone, CPU per case",
               min(bare) * 1000, note="fastest round of each")],
        {"rounds": args.rounds, "requests per round": args.requests,
         "concurrency": args.concurrency})


if __name__ == "__main__":
    main()
