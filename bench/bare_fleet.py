"""The bare in-process path on several cores at once, for `bench_api.py`.

`BareFleet` starts one process per core, each with the registered model loaded
(from the registry `env` names), and on request has them all score one case in a
loop over the same window: what the bare path could do on those cores, measured.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.process
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from model.registry import ModelRegistry


def bench_registry(env: dict[str, str]) -> ModelRegistry:
    """The bench's model registry, from the settings environment `env` names."""
    from model.registry import ModelRegistry

    return ModelRegistry(env["SAFEGUARD_MLFLOW_TRACKING_URI"], model_name="safeguard-risk",
                         artifact_root=env["SAFEGUARD_MLFLOW_ARTIFACT_ROOT"])


def _bare_worker(env: dict[str, str], case: dict[str, Any], channel: Connection) -> None:
    """One in-process scorer: load the model, then score the case in a loop when told to."""
    from model.service import CaseScorer

    scorer = CaseScorer(bench_registry(env).load("champion"))
    with threadpool_limits(1):  # as served: one OpenMP thread per process
        for _ in range(20):
            scorer.rate_cases([case])
        channel.send("ready")
        while (order := channel.recv()) is not None:
            start_at, seconds = order
            time.sleep(max(0.0, start_at - time.time()))
            cases, end = 0, start_at + seconds
            while time.time() < end:
                scorer.rate_cases([case])
                cases += 1
            channel.send((cases, time.time() - start_at))


class BareFleet:
    """One in-process scorer per core, scoring the case all at once: the bare path's capacity
    on the same cores, measured rather than assumed to be the one-core rate times the cores."""

    def __init__(self, env: dict[str, str], case: dict[str, Any], processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.channels: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        try:
            for _ in range(processes):
                ours, theirs = context.Pipe()
                process = context.Process(target=_bare_worker, args=(env, case, theirs),
                                          daemon=True)
                process.start()
                theirs.close()  # so a scorer that dies is an EOFError here, not a hang
                self.channels.append(ours)
                self.processes.append(process)
            for channel in self.channels:
                if channel.recv() != "ready":
                    raise RuntimeError("an in-process scorer did not start")
        except (EOFError, OSError, RuntimeError) as exc:
            self.close()
            raise RuntimeError(f"an in-process scorer did not start ({exc!r})") from exc

    def throughput(self, seconds: float) -> float:
        """Cases per second scored by all the processes together over the same window."""
        start_at = time.time() + 0.2
        for channel in self.channels:
            channel.send((start_at, seconds))
        counts = [channel.recv() for channel in self.channels]
        return sum(cases / elapsed for cases, elapsed in counts)

    def close(self) -> None:
        """Stop the scorers (those that have died already included)."""
        for channel in self.channels:
            with contextlib.suppress(OSError):
                channel.send(None)
            channel.close()
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
