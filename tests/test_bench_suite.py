"""`make bench`: the figure record, its arithmetic and table, and the quick suite end to end.

The quick suite (`make bench QUICK=1`) starts Spark, so it runs in the Spark group (one
xdist worker, never beside the Spark tests) and checks that every benchmark wrote every
figure with a numeric value, reference and ratio.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import subprocess
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Generous: on a shared 2-core machine at load average 15 the quick suite took 20-25 min
# (about 7 CPU minutes of scripts plus Spark's JVM); the suite reports its own time.
QUICK_TIMEOUT_S = 3600


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    """bench/results.py and bench/suite.py, imported as the scripts import them."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return importlib.import_module("results"), importlib.import_module("suite")


def test_ratio_is_the_figure_over_its_reference(bench: tuple[ModuleType, ModuleType]) -> None:
    results, _ = bench
    figure = results.Figure("score", 6.0, "s", "bare predict", 1.5,
                            target=results.Target("<=", 3.0, of="ratio"))
    assert figure.ratio == 4.0
    assert figure.met is False
    assert results.Figure("x", 2.0, "s", "y", 4.0, target=results.Target("<", 3.0)).met is True
    assert results.Figure("x", 2.0, "s", "y", 4.0).met is None
    saved = figure.to_json()
    assert saved["ratio"] == 4.0 and saved["met"] is False
    assert results.Figure.from_json(json.loads(json.dumps(saved))) == figure


@pytest.mark.parametrize(("value", "reference", "message"), [
    (1.0, 0.0, "measured 0"), (math.nan, 1.0, "not a finite number"),
    (1.0, math.inf, "not a finite number")])
def test_a_figure_without_a_usable_reference_is_refused(
        bench: tuple[ModuleType, ModuleType], value: float, reference: float,
        message: str) -> None:
    results, _ = bench
    with pytest.raises(ValueError, match=message):
        results.Figure("x", value, "s", "ref", reference)


def test_a_target_names_a_comparison(bench: tuple[ModuleType, ModuleType]) -> None:
    results, _ = bench
    with pytest.raises(ValueError, match="use one of"):
        results.Target("=<", 1.0)
    assert results.Target(">=", 0.97, of="ratio").text("") == "ratio >= 0.97"
    assert results.Target("<", 8.0).text("s") == "< 8 s"


def test_numbers_have_three_significant_digits(bench: tuple[ModuleType, ModuleType]) -> None:
    results, _ = bench
    assert [results.number(x) for x in (1234.5, 12.345, 0.012345, 0.0)] == \
        ["1,234", "12.3", "0.0123", "0.0"]


def _results(figures: list[dict[str, Any]], error: str | None = None) -> dict[str, Any]:
    meta = {"date": "2026-12-05 00:00 UTC", "commit": "abc1234", "command": "make bench",
            "quick": False, "seconds": 61.0, "cpu_seconds": 90.0, "lanes": "serial",
            "load_average_before": [1.0, 2.0, 3.0], "load_average_after": [4.0, 5.0, 6.0],
            "machine": {"nproc": 2, "cpu": "Test CPU", "memory_gib": 7.75}}
    script = {"figures": figures, "facts": {"referrals": 100000}}
    return {"meta": meta, "scripts": {"bench_x": script | ({"error": error} if error else {})}}


def test_the_table_shows_each_figure_beside_its_reference(
        bench: tuple[ModuleType, ModuleType]) -> None:
    results, _ = bench
    figure = results.Figure("queue | page", 45.0, "ms", "JSON view", 15.0,
                            target=results.Target("<", 40.0))
    text = results.render_markdown(_results([figure.to_json()]))
    assert "commit `abc1234`" in text and "2 CPUs (Test CPU), 7.8 GiB" in text
    assert "1.0 / 2.0 / 3.0 before and 4.0 / 5.0 / 6.0 after" in text
    row = next(line for line in text.splitlines() if line.startswith("| bench_x"))
    assert row == ("| bench_x | queue \\| page | 45.0 ms | JSON view: 15.0 ms | 3.00 x "
                   "| < 40 ms **missed** |")
    assert "- `bench_x`: referrals 100000" in text
    assert "Failed" not in text
    assert "Failed: `bench_x`: exit status 1" in results.render_markdown(
        _results([], error="exit status 1"))
    quick = _results([figure.to_json()])
    quick["meta"]["quick"] = True
    assert "| < 40 ms |" in results.render_markdown(quick)  # a quick run's sizes are smaller


def test_the_readme_section_is_replaced_between_its_markers(
        bench: tuple[ModuleType, ModuleType]) -> None:
    _, suite = bench
    begin, end = suite.MARKERS
    text = f"# Title\n\n{begin}\nold table\n{end}\n\nafter\n"
    assert suite.replace_section(text, "new table\n") == \
        f"# Title\n\n{begin}\nnew table\n{end}\n\nafter\n"
    with pytest.raises(ValueError, match="markers"):
        suite.replace_section("# no markers\n", "new table\n")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count(begin) == 1 and readme.count(end) == 1


def test_the_queue_keeps_a_group_together_and_starts_with_the_longest(
        bench: tuple[ModuleType, ModuleType], tmp_path: Path) -> None:
    _, suite = bench
    benches = [suite.Bench("a", 1), suite.Bench("api", 1, group="api"),
               suite.Bench("api_load", 1, group="api"), suite.Bench("b", 1)]
    last = tmp_path / "results.json"
    last.write_text(json.dumps({"scripts": {"a": {"seconds": 5.0}, "api": {"seconds": 3.0},
                                            "api_load": {"seconds": 4.0},
                                            "b": {"seconds": 1.0}}}), encoding="utf-8")

    def scripts(last: Path) -> list[list[str]]:
        return [[b.script for b in group]
                for group in suite.longest_first(suite.queue_of(benches), last)]

    assert scripts(last) == [["api", "api_load"], ["a"], ["b"]]
    assert scripts(tmp_path / "no-run.json") == [["a"], ["api", "api_load"], ["b"]]


def test_benches_with_absolute_targets_run_alone_after_the_lanes_at_the_stated_size(
        bench: tuple[ModuleType, ModuleType], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, suite = bench
    benches = [suite.Bench("spark_one", 1, lane="spark"), suite.Bench("a", 1),
               suite.Bench("train", 1, alone=True), suite.Bench("b", 1),
               suite.Bench("api", 1, group="api", alone=True),
               suite.Bench("api_load", 1, group="api", alone=True),
               suite.Bench("spark_alone", 1, lane="spark", alone=True)]
    spans: dict[str, tuple[float, float]] = {}
    calls: list[str] = []

    def run_bench(bench_: Any, _args: list[str], _work: Path, _timeout: float
                  ) -> dict[str, Any]:
        calls.append(bench_.script)
        started = time.perf_counter()
        time.sleep(0.05)
        spans[bench_.script] = (started, time.perf_counter())
        return {"figures": [], "facts": {}, "seconds": 0.05, "cpu_seconds": 0.0}

    monkeypatch.setattr(suite, "run_bench", run_bench)
    names = {"model": str(tmp_path / "model"), "main": "", "main_truth": ""}

    def run(**modes: bool) -> dict[str, dict[str, Any]]:
        spans.clear()
        calls.clear()
        options = argparse.Namespace(**({"quick": False, "serial": False} | modes),
                                     timeout=10.0, last=tmp_path / "no-run.json")
        return suite.run_lanes(benches, names, options, tmp_path)[0]

    records = run()
    assert sorted(calls) == sorted(b.script for b in benches)  # each once
    alone = ["train", "api", "api_load", "spark_alone"]
    assert [name for name, r in records.items() if r["lane"] == "alone"] == alone
    lanes_end = max(spans[name][1] for name in spans if name not in alone)
    starts = [spans[name][0] for name in alone]
    assert lanes_end <= starts[0] and starts == sorted(starts)
    assert all(spans[a][1] <= spans[b][0] for a, b in zip(alone, alone[1:], strict=False))
    for modes in ({"quick": True}, {"serial": True}):
        assert all(r["lane"] != "alone" for r in run(**modes).values()), modes
        assert sorted(calls) == sorted(b.script for b in benches), modes


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_make_bench_quick_writes_every_figure(bench: tuple[ModuleType, ModuleType],
                                             tmp_path: Path) -> None:
    _, suite = bench
    done = subprocess.run(["make", "--no-print-directory", "bench", "QUICK=1",
                           f"BENCH_OUT={tmp_path}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=QUICK_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert found["meta"]["quick"] is True
    assert list(found["scripts"]) == [b.script for b in suite.BENCHES]
    for bench_ in suite.BENCHES:
        script = found["scripts"][bench_.script]
        assert "error" not in script, (bench_.script, script["error"])
        assert len(script["figures"]) == bench_.figures, bench_.script
        for figure in script["figures"]:
            for key in ("value", "reference_value", "ratio"):
                assert isinstance(figure[key], float) and math.isfinite(figure[key]), figure
            assert figure["reference_name"], figure
            assert figure["ratio"] == pytest.approx(figure["value"] / figure["reference_value"])
    table = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert table.count("\n| bench_") == sum(b.figures for b in suite.BENCHES)
