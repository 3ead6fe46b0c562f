"""CPU cost of checking one case in the API (`CasePayload.model_validate_json`, as
POST /v1/score reads its body), as a ratio to decoding the same JSON body with
`json.loads` (the reference, timed in the same run).

The case is a synthetic referral with a few hundred agency records, as `bench_api.py`
picks one (200 to 400 records), cached in ``bench/out/case_rules``. Rounds alternate the
valid case and the same case with one bad record (the path that names each record's
field); the fastest of the rounds counts (other load only ever slows a round).

Run: .venv/bin/python bench/bench_case_rules.py [--rounds R] [--repeats N] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_service
from results import Figure, add_json_argument, write_figures

ROOT = Path(__file__).resolve().parents[1]


def pick_case(state: Path) -> dict[str, Any]:
    """A synthetic referral with a few hundred agency records, as a hub would send it
    (picked as `bench_api.py` picks its case, from an extract of its own)."""
    extract = state / "extract"
    if not (state / "case.json").exists() and not extract.exists():
        from pipelines.synth import SynthConfig, generate_extract

        generate_extract(SynthConfig(n_referrals=3000, seed=7, file_format="parquet",
                                     corrupt=False), out_dir=extract)
    return bench_service.pick_case(state)


def _cpu_per_call(call: Callable[[], Any], repeats: int) -> float:
    started = time.process_time()
    for _ in range(repeats):
        call()
    return (time.process_time() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--state", type=Path, default=ROOT / "bench" / "out" / "case_rules")
    add_json_argument(parser)
    args = parser.parse_args()
    args.state.mkdir(parents=True, exist_ok=True)
    case = pick_case(args.state)
    bad = copy.deepcopy(case)
    bad["events"][len(bad["events"]) // 2]["recorded_date"] = "1900-01-01"
    bodies = {"valid": json.dumps(case).encode(), "one bad record": json.dumps(bad).encode()}

    from pydantic import ValidationError

    from api.case_payload import CasePayload

    def check(body: bytes) -> None:
        with contextlib.suppress(ValidationError):
            CasePayload.model_validate_json(body)

    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, body in bodies.items():  # alternate: noise hits both alike
            reference = _cpu_per_call(lambda body=body: json.loads(body), args.repeats)
            spent = _cpu_per_call(lambda body=body: check(body), args.repeats)
            best[name] = min(best.get(name, float("inf")), spent / reference)
            best[f"{name} (us)"] = min(best.get(f"{name} (us)", float("inf")), spent * 1e6)
            best[f"{name} ref"] = min(best.get(f"{name} ref", float("inf")), reference * 1e6)
    print(f"case: {len(case['events'])} agency records; fastest of {args.rounds} rounds")
    for name in bodies:
        print(f"{name}: {best[f'{name} (us)']:.0f} us CPU per case, "
              f"{best[name]:.2f} x json.loads of the same body")
    write_figures(args.json, "bench_case_rules", [
        Figure(f"check one case, {name} (CasePayload from JSON)", best[f"{name} (us)"], "us CPU",
               "json.loads of the same body", best[f"{name} ref"],
               note="each the fastest of the rounds")
        for name in bodies], {"records": len(case["events"]), "rounds": args.rounds})


if __name__ == "__main__":
    main()
