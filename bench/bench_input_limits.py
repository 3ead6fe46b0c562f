"""Time and size of the API's answers to hostile input, with the default limits.

A batch of 170,000 empty cases (refused with 413 before any case is validated) and one
case of 5,000 records of an unknown event type (a 422 listing at most 50 errors). The
app runs in-process (no network) with no model: neither answer reaches the model.

Each answer's time stands beside the reference: `json.loads` of the same body.

Run: .venv/bin/python bench/bench_input_limits.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from results import Figure, add_json_argument, write_figures

from api.api_keys import KeyHasher, issue_key
from api.app import create_app
from api.scoring import NoModel
from api.settings import Settings
from api.store import Store, init_db

PEPPER = "bench-pepper-" + "x" * 32


def _case(events: list[dict[str, Any]]) -> dict[str, Any]:
    referral = {
        "referral_id": "R-bench", "person_id": "P1", "household_id": "H1",
        "referral_date": "2024-06-01", "referral_source": "police",
        "presenting_need": "domestic_abuse", "subject_type": "child", "age_years": 9,
        "sex": "female", "ethnicity_group": "white", "disability": False, "imd_decile": 3,
    }  # fmt: skip
    return {"referral": referral, "events": events}


def _post(client: TestClient, path: str, body: str, headers: dict[str, str],
          timings: list[Figure], label: str) -> str:
    started = time.perf_counter()
    answer = client.post(path, content=body, headers=headers)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    json.loads(body)
    parse = time.perf_counter() - started
    timings.append(Figure(f"{label}: POST {path}, answered {answer.status_code}", seconds, "s",
                          "json.loads of the same body", parse))
    return f"{answer.status_code}, {len(answer.content):,} bytes in {seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_json_argument(parser)
    args = parser.parse_args()
    timings: list[Figure] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        init_db(url)
        settings = Settings(environment="test", database_url=url, api_key_pepper=SecretStr(PEPPER))
        store = Store(url)
        with store.session() as session:
            key = issue_key(session, KeyHasher(PEPPER), name="bench", role="triage").key
            session.commit()
        store.dispose()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with TestClient(create_app(settings, NoModel())) as client:
            batch = json.dumps({"cases": [{"events": []}] * 170_000})
            print(
                f"batch of 170,000 empty cases, {len(batch):,} bytes: "
                + _post(client, "/v1/score/batch", batch, headers, timings,
                        "batch of 170,000 empty cases")
            )
            bad = {
                "agency": "police",
                "person_id": "P1",
                "event_date": "2024-03-01",
                "event_type": "bogus",
            }
            case = json.dumps(_case([bad] * 5_000))
            print(
                f"case of 5,000 bad records, {len(case):,} bytes: "
                + _post(client, "/v1/score", case, headers, timings,
                        "case of 5,000 bad records")
            )
    write_figures(args.json, "bench_input_limits", timings)


if __name__ == "__main__":
    main()
