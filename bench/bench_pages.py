"""Server time of the web pages: the triage queue with 1,000 scored referrals and a case page.

A fresh SQLite store gets 1,000 scored referrals (each score with a full explanation:
eight factors, six agencies, an escalation), a triage user and a governance user. The
app runs in-process (httpx's ASGI transport, no network), signed in through the sign-in
form as a browser is. Each request is timed from sending to the whole body received:
the queue's first page (most urgent first), a filtered queue page, a case page, and as
the reference the API's JSON view of the same case (`GET /v1/referrals/{id}`, audited
as the page is). Prints the median and 95th percentile of each, and each page's ratio
to the reference. The budget is 150 ms at the server for each page.

Run: .venv/bin/python bench/bench_pages.py [--requests N] [--referrals N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from results import Figure, Target, add_json_argument, write_figures

from api.api_keys import KeyHasher, issue_key
from api.app import create_app
from api.schemas import Escalation, Factor, ScoreResult
from api.settings import Settings
from api.store import Store, init_db
from api.store.models import Score
from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS

BUDGET_MS = 150.0
PEPPER = "bench-pages-pepper-" + "p" * 32
_BANDS = (("low", "green", "MASH checks completed within 24 hours"),
          ("medium", "amber", "Partner checks within 6 hours"),
          ("high", "red", "Partner checks within 2 hours"),
          ("very high", "red", "Immediate strategy discussion; partner checks within 2 hours"))


def _result(index: int) -> ScoreResult:
    band, rag, timescale = _BANDS[index % len(_BANDS)]
    factors = [Factor(feature=f"feature_{n}", value=n, contribution=0.4 - 0.1 * n,
                      direction="raises" if n < 4 else "lowers", agency=AGENCIES[n % 6],
                      sentence=f"Factor {n} of this referral, in words a practitioner checks.")
               for n in range(8)]
    return ScoreResult(
        referral_id=f"R-{index:06d}", model_name="bench", model_version="3",
        probability=0.3, score=1 + index % 20, band=band, rag=rag,  # type: ignore[arg-type]
        response_timescale=timescale, top_factors=factors,
        escalations=[Escalation(rule="rule", description="A rule that fired", minimum_band="high")],
        contributions_by_agency={agency: 0.1 * n for n, agency in enumerate(AGENCIES)},
        agencies_not_seen=["housing"], raw_score=0.2, base_value=-1.0)


def _fill(store: Store, referrals: int) -> dict[str, str]:
    hasher = KeyHasher(PEPPER)
    start = datetime.now(UTC) - timedelta(hours=30)
    with store.session() as session:
        keys = {role: issue_key(session, hasher, name=f"bench-{role}", role=role).key
                for role in ("triage", "governance")}
        for index in range(referrals):
            result = _result(index)
            session.add(Score(
                referral_id=result.referral_id, model_name="bench", model_version="3",
                probability=result.probability, score=result.score, band=result.band,
                rag=result.rag, result=result.model_dump(mode="json"), user_name="bench-triage",
                presenting_need=PRESENTING_NEEDS[index % len(PRESENTING_NEEDS)],
                created_at=start + timedelta(minutes=index)))
        session.commit()
    return keys


async def _signed_in(app: Any, key: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                               headers={"Accept": "text/html"})
    form = (await client.get("/sign-in")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = await client.post("/sign-in", data={"api_key": key, "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.status_code  # to the home page
    return client


async def _times(client: httpx.AsyncClient, path: str, requests: int,
                 headers: dict[str, str] | None = None) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


async def _run(args: argparse.Namespace, folder: Path) -> list[Figure]:
    url = f"sqlite:///{folder / 'pages.db'}"
    init_db(url)
    store = Store(url)
    keys = _fill(store, args.referrals)
    store.dispose()
    settings = Settings(environment="test", database_url=url, api_key_pepper=SecretStr(PEPPER))
    app = create_app(settings)
    client = await _signed_in(app, keys["triage"])
    case = "R-000003"
    paths = {
        "queue, first page": "/queue",
        "queue, filtered": "/queue?band=high&need=domestic_abuse",
        "case page": f"/cases/{case}",
    }
    reference_name = f"JSON case view (GET /v1/referrals/{case})"
    measured: dict[str, list[float]] = {}
    for _ in range(3):  # warm up every path first
        for path in [*paths.values(), f"/v1/referrals/{case}"]:
            await client.get(path, headers={"Authorization": f"Bearer {keys['triage']}"})
    for name, path in paths.items():
        measured[name] = await _times(client, path, args.requests)
    measured[reference_name] = await _times(
        client, f"/v1/referrals/{case}", args.requests,
        headers={"Authorization": f"Bearer {keys['triage']}", "Accept": "application/json"})
    await client.aclose()
    reference = statistics.median(measured[reference_name])
    print(f"{args.referrals} scored referrals awaiting a decision; {args.requests} requests each")
    for name, times in measured.items():
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        within = "within" if p95 < BUDGET_MS else "OVER"
        verdict = "" if name == reference_name else \
            f"  x{median / reference:.1f} the reference; {within} the {BUDGET_MS:.0f} ms budget"
        print(f"  {name:<45} median {median:6.1f} ms  p95 {p95:6.1f} ms{verdict}")
    reference_p95 = statistics.quantiles(measured[reference_name], n=20)[-1]
    return [figure for name, times in measured.items() if name != reference_name
            for figure in (
                Figure(f"{name}, median", statistics.median(times), "ms", reference_name,
                       reference),
                Figure(f"{name}, 95th percentile", statistics.quantiles(times, n=20)[-1], "ms",
                       reference_name, reference_p95, target=Target("<", BUDGET_MS)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--referrals", type=int, default=1000)
    add_json_argument(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(_run(args, Path(folder)))
    write_figures(args.json, "bench_pages", figures,
                  {"scored referrals": args.referrals, "requests each": args.requests})


if __name__ == "__main__":
    main()
