"""`make bench`: every benchmark at its stated size, merged into one JSON file and one table.

Generates the synthetic extracts the benchmarks share once per size, trains one model
on the main extract (`shared_model.py`, first in the main lane) for every script that
needs one (``{model}`` in its arguments: it waits for the model), runs each script
of `BENCHES` (`benches.py`) as a subprocess with `--json` (its figures, each beside its
reference measured in the same run; its output goes to ``bench/out/suite*/SCRIPT.log``), and
writes ``results.json`` (the figures, with the date, commit, machine and load average)
and ``RESULTS.md`` (the table) into `--out`; with `--readme` it also replaces the table
in that file's "Measured figures" section (between the `MARKERS`). `--quick` (`make
bench QUICK=1`) runs the small sizes and fewer rounds of `QUICK_SIZES` and
`Bench.quick`. Two lanes run side by side on two cores unless `--serial`, each taking
the next script from one queue when it is free, the longest in the last run first
(scripts of one `Bench.group`, which share a state folder, go together); the Spark lane
(mostly a JVM waiting on its own scheduler) first runs the Spark scripts. At the stated
sizes the scripts whose targets are absolute times (`Bench.alone`: training, the whole
commands, the served API) run after both lanes, one at a time with nothing beside them,
so their figures are those of the machine, not of half of it. Each
figure's reference is still measured in its own script, next to the figure. A script
that fails is recorded with its error and the suite goes on; the exit status is 1 if
any failed.

Run: .venv/bin/python bench/suite.py [--quick] [--out DIR] [--readme README.md]
     [--serial] [--only NAME,...] [--timeout S] [--from RESULTS_JSON] [--last JSON]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from benches import BENCHES, Bench
from results import render_markdown
from runner import SharedModel, commit, machine, run_bench

ROOT: Final = Path(__file__).resolve().parents[1]
# Referrals of the shared extracts: "main" for most, "spark" for the Spark lane.
FULL_SIZES: Final = {"main": 100_000, "spark": 100_000}
QUICK_SIZES: Final = {"main": 10_000, "spark": 2_000}
MARKERS: Final = ("<!-- bench:begin (bench/suite.py writes this table) -->",
                  "<!-- bench:end -->")


def make_extracts(sizes: Mapping[str, int], folder: Path) -> dict[str, str]:
    """One synthetic extract per distinct size (Parquet, seed 7), by name, and the
    generator's truth of each (``NAME_truth``)."""
    from pipelines.synth import SynthConfig, generate_extract

    for size in sorted(set(sizes.values())):
        generate_extract(SynthConfig(n_referrals=size, seed=7, file_format="parquet",
                                     corrupt=False), out_dir=folder / f"extract-{size}",
                         truth_path=folder / f"truth-{size}.parquet")
    return {**{name: str(folder / f"extract-{size}") for name, size in sizes.items()},
            **{f"{name}_truth": str(folder / f"truth-{size}.parquet")
               for name, size in sizes.items()}}


def queue_of(benches: list[Bench]) -> deque[list[Bench]]:
    """The benches as a queue of groups, in order: consecutive benches of one `group` go
    together (one after the other, in one lane), every other bench alone."""
    queue: deque[list[Bench]] = deque()
    for bench in benches:
        if queue and bench.group and queue[-1][-1].group == bench.group:
            queue[-1].append(bench)
        else:
            queue.append([bench])
    return queue


def longest_first(queue: deque[list[Bench]], last: Path) -> deque[list[Bench]]:
    """The queue with the groups that took longest in the run recorded in `last` first
    (so the lane that frees up last finds short ones left); as it is without that run."""
    try:
        scripts = json.loads(last.read_text(encoding="utf-8"))["scripts"]
        took = {name: float(script["seconds"]) for name, script in scripts.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return queue
    return deque(sorted(queue, key=lambda group: -sum(took.get(b.script, 0.0) for b in group)))


def runs_alone(benches: list[Bench], options: argparse.Namespace) -> list[Bench]:
    """The benches that run after the lanes, one at a time (none in quick or serial mode)."""
    return [] if options.quick or options.serial else [b for b in benches if b.alone]


def run_lanes(benches: list[Bench], names: Mapping[str, str], options: argparse.Namespace,
              work: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Two lanes side by side (one with `--serial`), each taking the next bench from one
    queue when it is free; the Spark lane first runs the Spark benches, one after the other;
    then the benches that run alone (`runs_alone`), one after the other.

    The main lane first trains the shared model when a bench needs it. Returns each
    bench's record (with the lane that ran it), and the shared model's record and each
    lane's wall seconds.
    """
    alone = runs_alone(benches, options)
    spark = [] if options.serial else [b for b in benches if b.lane == "spark" and b not in alone]
    queue = longest_first(queue_of([b for b in benches if b not in spark and b not in alone]),
                          options.last)
    lanes = {"all": []} if options.serial else {"main": [], "spark": spark}
    shared = SharedModel(Path(names["model"]), work, options.timeout)
    wanted = any(b.needs_model(options.quick) for b in benches)
    lock = threading.Lock()
    done: dict[str, dict[str, Any]] = {}
    timing: dict[str, Any] = {"lanes_seconds": {}}

    def run_one(bench: Bench, lane: str) -> None:
        if bench.needs_model(options.quick) and (error := shared.error()):
            done[bench.script] = {"figures": [], "facts": {}, "error": error, "seconds": 0.0,
                                  "cpu_seconds": 0.0, "lane": lane}
            return
        args = [a.format(**names) for a in bench.arguments(options.quick)]
        done[bench.script] = {**run_bench(bench, args, work, options.timeout), "lane": lane}

    def lane(name: str, own: list[Bench]) -> None:
        started = time.perf_counter()
        if wanted and name != "spark":
            shared.train(names["main"], names["main_truth"])
        group: list[Bench] | None = own
        while group is not None:
            for bench in group:
                run_one(bench, name)
            with lock:
                group = queue.popleft() if queue else None
        timing["lanes_seconds"][name] = time.perf_counter() - started

    threads = [threading.Thread(target=lane, args=item) for item in lanes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = time.perf_counter()
    for bench in alone:  # in `BENCHES` order, so a group's scripts stay together
        run_one(bench, "alone")
    if alone:
        timing["lanes_seconds"]["alone"] = time.perf_counter() - started
    timing["shared_model"] = shared.record
    return {b.script: done[b.script] for b in benches}, timing


def replace_section(text: str, body: str) -> str:
    """`text` with what lies between the `MARKERS` replaced by `body`."""
    begin, end = MARKERS
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"the README needs the markers {begin} and {end}, once each")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}{end}{tail}"


def measure(options: argparse.Namespace, benches: list[Bench]) -> dict[str, Any]:
    """Generate the shared extracts, run the benches; the results with their context."""
    state = ROOT / "bench" / "out" / "suite-state"
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(),
        "command": "make bench" + (" QUICK=1" if options.quick else ""),
        "quick": options.quick,
        "lanes": "serial" if options.serial else "side by side" + (
            ", then alone: " + ", ".join(b.script for b in alone)
            if (alone := runs_alone(benches, options)) else ""),
        "machine": machine(), "load_average_before": list(os.getloadavg())}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        sizes = QUICK_SIZES if options.quick else FULL_SIZES
        names = {**make_extracts(sizes, Path(tmp)),
                 "model": str(state / ("model-quick" if options.quick else "model"))}
        meta["extract_referrals"] = dict(sizes)
        meta["extracts_seconds"] = time.perf_counter() - started
        work = state.parent / ("suite-quick" if options.quick else "suite")
        work.mkdir(parents=True, exist_ok=True)
        scripts, timing = run_lanes(benches, names, options, work)
    meta |= {"seconds": time.perf_counter() - started,
             "cpu_seconds": sum(s["cpu_seconds"] for s in scripts.values())
             + timing["shared_model"].get("cpu_seconds", 0.0),
             "load_average_after": list(os.getloadavg()), **timing}
    return {"meta": meta, "scripts": scripts}


def publish(results: dict[str, Any], out: Path, readme: Path | None) -> None:
    """Write results.json and RESULTS.md into `out`, and the table into `readme`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    markdown = render_markdown(results)
    (out / "RESULTS.md").write_text("# Benchmark results\n\n" + markdown, encoding="utf-8")
    if readme is not None:
        readme.write_text(replace_section(readme.read_text(encoding="utf-8"), markdown),
                          encoding="utf-8")
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}"
          + (f", and the table in {readme}" if readme else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer rounds")
    parser.add_argument("--out", type=Path, default=None,
                        help="where results.json and RESULTS.md go (default: bench/, "
                             "bench/out/quick/ in quick mode)")
    parser.add_argument("--readme", type=Path, default=None,
                        help="also replace the measured table in this file")
    parser.add_argument("--serial", action="store_true",
                        help="one lane: every script one after the other")
    parser.add_argument("--only", default=None, help="run only these scripts (comma-separated)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds each script may take (default 3600, quick 1200)")
    parser.add_argument("--from", dest="source", type=Path, default=None, metavar="JSON",
                        help="run nothing: publish the results of an earlier run")
    parser.add_argument("--last", type=Path, default=ROOT / "bench" / "results.json",
                        metavar="JSON", help="a run's results whose times order the queue, "
                        "longest first (default: the committed bench/results.json)")
    options = parser.parse_args()
    options.timeout = options.timeout or (1200.0 if options.quick else 3600.0)
    out = options.out or ROOT / "bench" / ("out/quick" if options.quick else "")
    wanted = set(options.only.split(",")) if options.only else None
    benches = [b for b in BENCHES if wanted is None or b.script in wanted]
    if wanted and len(benches) != len(wanted):
        parser.error(f"--only: no such benchmark {sorted(wanted - {b.script for b in benches})}")
    if options.source is not None:
        results = json.loads(options.source.read_text(encoding="utf-8"))
    else:
        results = measure(options, benches)
    publish(results, out, options.readme)
    return 1 if any(s.get("error") for s in results["scripts"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
