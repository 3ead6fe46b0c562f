"""The benchmarks `make bench` runs (`bench/suite.py`): each script with its number of
figures, its arguments at the stated size and in quick mode, its lane and group, and
whether it runs alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Bench:
    """One script: how many figures it writes, its arguments at the stated size and in
    quick mode, its lane (``spark``: first in the Spark lane; ``main``: from the queue),
    its group (a group's scripts run one after the other, in one lane), and whether it
    runs ``alone`` at the stated size (after the lanes, nothing beside it: its targets are
    absolute times; in quick mode, and with ``--serial``, it takes its place in the queue).

    ``{main}`` / ``{spark}`` in the arguments name the shared extract of that size,
    ``{model}`` the model folder of `shared_model.py` (trained on ``{main}``).
    """

    script: str
    figures: int
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    lane: str = "main"
    group: str = ""
    alone: bool = False

    def arguments(self, quick: bool) -> tuple[str, ...]:
        return self.quick if quick else self.full

    def needs_model(self, quick: bool) -> bool:
        """Whether it takes the shared model (``{model}``), so waits for it."""
        return any("{model}" in a for a in self.arguments(quick))


BENCHES: Final = (
    Bench("bench_synth", 2, ("--referrals", "100000", "--rounds", "2"),
          ("--referrals", "10000", "--rounds", "1")),
    Bench("bench_validate", 2, ("--events", "5000000"), ("--events", "500000")),
    Bench("bench_features", 3, ("--extract", "{main}"),
          ("--extract", "{main}", "--reference-sample", "50")),
    Bench("bench_spark", 3, ("--extract", "{spark}", "--master", "local[2]"),
          ("--extract", "{spark}", "--master", "local[2]"), lane="spark"),
    # bench_train times a training of its own: its figures are training's.
    Bench("bench_train", 4, ("--referrals", "100000"), ("--referrals", "10000"), alone=True),
    # Its Spark figures are whole commands, each cold as a user's is; alone, because a
    # minute-long Spark command beside the main lane's training read 92 s for 55 s quiet.
    # At 100,000 referrals the Spark runs need more than bench_spark's 3 GiB driver: each
    # hands the validated feeds to the one local JVM.
    Bench("bench_score", 5, ("--extract", "{main}", "--model", "{model}", "--spark",
                             "--driver-memory", "8g", "--rounds", "1"),
          ("--extract", "{main}", "--model", "{model}", "--spark", "--spark-extract",
           "{spark}", "--rounds", "1"), lane="spark", alone=True),
    Bench("bench_explain", 3, ("--model", "{model}", "--referrals", "100000", "--batch-rows",
                               "100000", "--no-retry"),
          ("--model", "{model}", "--referrals", "10000", "--batch-rows", "10000", "--cases",
           "50", "--repeats", "1", "--no-retry")),
    Bench("bench_fairness", 2, ("--labelled", "30000", "--resamples", "200"),
          ("--labelled", "3000", "--resamples", "50")),
    Bench("bench_oversight", 5, ("--referrals", "100000", "--model", "{model}"),
          ("--referrals", "10000", "--model", "{model}", "--rounds", "1"), alone=True),
    # The three API benches serve the shared model from its folder (their state).
    Bench("bench_api", 6, ("--state", "{model}", "--duration", "10", "--pairs", "3"),
          ("--state", "{model}", "--duration", "3", "--pairs", "1",
           "--in-process-repeats", "50"), group="api", alone=True),
    Bench("bench_api_inprocess", 1, ("--state", "{model}",),
          ("--state", "{model}", "--rounds", "2", "--requests", "200"), group="api", alone=True),
    Bench("bench_load", 3, ("--state", "{model}",),
          ("--state", "{model}", "--duration", "5", "--warmup", "2",
           "--in-process-repeats", "50"), group="api", alone=True),
    Bench("bench_pages", 6, (), ("--requests", "10", "--referrals", "200")),
    Bench("bench_cli", 2, (), ("--repeats", "3")),
    Bench("bench_case_rules", 2, (), ("--rounds", "3", "--repeats", "100")),
    Bench("bench_input_limits", 2),
)
