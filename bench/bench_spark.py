"""Spark features against the single-machine engine, on the same extract in the same run.

Generates (or reads) a synthetic extract, validates it once, then times the
single-machine build (`pipelines.features.build_features`) and the Spark build
(`pipelines.spark.features.spark_feature_table`, materialised with Spark's no-op sink
so no disk write is counted) on a local session, and prints the ratio Spark / single.
The session's start-up (a JVM) is timed apart: it is paid once per job, not per referral.

Run: .venv/bin/python bench/bench_spark.py [--referrals N] [--extract DIR] [--master local[2]]
     [--driver-memory 3g] [--json PATH]
(needs the spark extra and Java 17).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from results import Figure, Target, add_json_argument, write_figures

from data_contracts import validate_extract
from data_contracts.cli import prepare_command_process
from data_contracts.vocab import AGENCIES, event_feed
from pipelines.features import build_features
from pipelines.spark.features import spark_feature_table
from pipelines.spark.session import spark_session
from pipelines.synth import SynthConfig, generate_extract

SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "3g",
    "spark.ui.showConsoleProgress": "false",
}


def spark_settings(driver_memory: str | None = None) -> dict[str, str]:
    """`SETTINGS`, with ``spark.driver.memory`` (local mode: the one JVM's heap) when given."""
    return {**SETTINGS, **({"spark.driver.memory": driver_memory} if driver_memory else {})}


def peak_gib(pid: int | None = None) -> float:
    """A process's peak resident memory (VmHWM; this process by default), in GiB."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 2**20


def measure(extract: Path, master: str, settings: dict[str, str] | None = None
            ) -> dict[str, Any]:
    """Validation, single-machine build, Spark start-up and Spark build, in seconds."""
    settings = settings or SETTINGS
    started = time.perf_counter()
    feeds = dict(validate_extract(extract).feeds)
    figures: dict[str, Any] = {"validate_s": time.perf_counter() - started}
    figures["referrals"] = len(feeds["referrals"])
    figures["events"] = sum(len(feeds[event_feed(a)]) for a in AGENCIES if event_feed(a) in feeds)
    started = time.perf_counter()
    build_features(feeds)
    figures["single_build_s"] = time.perf_counter() - started
    # Process peak so far (validated extract + single-machine build), before the JVM starts.
    figures["single_peak_gib"] = peak_gib()
    started = time.perf_counter()
    spark = spark_session(master, settings=settings, app_name="bench-spark")
    spark.range(1).count()
    figures["spark_start_s"] = time.perf_counter() - started
    started = time.perf_counter()
    spark_feature_table(spark, feeds).write.format("noop").mode("overwrite").save()
    figures["spark_build_s"] = time.perf_counter() - started
    figures["spark_over_single"] = figures["spark_build_s"] / figures["single_build_s"]
    figures["master"] = master
    figures["spark_peak_gib"] = peak_gib(spark.sparkContext._jvm.java.lang.ProcessHandle
                                         .current().pid())
    figures["spark_settings"] = settings
    figures["load_average"] = os.getloadavg()
    spark.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--extract", type=Path, default=None)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default=SETTINGS["spark.driver.memory"],
                        help="spark.driver.memory (local mode: the one JVM's heap); 1M "
                             "referrals need more than the default")
    add_json_argument(parser)
    args = parser.parse_args()
    # Set up as the commands are (`safeguard features`): fewer garbage collections, small
    # pages, Arrow's jemalloc pool; the single-machine build is then timed as users run it.
    prepare_command_process()
    with tempfile.TemporaryDirectory() as tmp:
        extract = args.extract
        if extract is None:
            extract = Path(tmp) / "extract"
            generate_extract(
                SynthConfig(
                    n_referrals=args.referrals, seed=0, file_format="parquet", corrupt=False
                ),
                out_dir=extract,
            )
        figures = measure(extract, args.master, spark_settings(args.driver_memory))
    print(json.dumps(figures, indent=1))
    print(
        f"Spark features ({figures['master']}) / single-machine: "
        f"{figures['spark_over_single']:.2f}x on {figures['referrals']:,} referrals "
        f"({figures['spark_build_s']:.1f} s vs {figures['single_build_s']:.1f} s; "
        f"Spark start-up {figures['spark_start_s']:.1f} s apart)"
    )
    write_json(args.json, figures)


def write_json(path: Path | None, figures: dict[str, Any]) -> None:
    """The figures as JSON (`--json`), each beside the single-machine engine's."""
    write_figures(path, "bench_spark", [
        Figure(f"Spark feature build, {figures['master']}", figures["spark_build_s"], "s",
               "single-machine build, same validated extract", figures["single_build_s"],
               target=Target("<=", 3.0, of="ratio")),
        Figure("Spark feature build, JVM peak RSS", figures["spark_peak_gib"], "GiB",
               "Python process peak (validation + single-machine build)",
               figures["single_peak_gib"], note="local mode: driver and executors in one JVM"),
        Figure("Spark session start-up (features)", figures["spark_start_s"], "s",
               "single-machine build, same validated extract", figures["single_build_s"])],
        {k: figures[k] for k in ("referrals", "events", "master")})


if __name__ == "__main__":
    main()
