"""How `bench/suite.py` runs one script, the suite's one shared model, and what a run
was measured on (machine and commit).

Each script runs as a subprocess in its own session (its servers and workers go with it
on time-out), its output to a log; its wall time and the CPU time of its whole process
tree are recorded beside its figures.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benches import Bench

ROOT = Path(__file__).resolve().parents[1]


def run_command(command: list[str], log: Path, timeout: float) -> dict[str, Any]:
    """Run one script (output to `log`); its wall and CPU seconds, and an ``error`` when
    it timed out or failed."""
    env = os.environ | {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True)
    # On time-out, the script's whole process group goes (servers and workers included).
    timer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(process.pid, 0)  # wait4: the CPU time of the script's tree
    timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    spent = {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
             "command": command[1:]}
    if seconds >= timeout:
        spent["error"] = f"timed out after {timeout:.0f} s"
    elif code != 0:
        spent["error"] = f"exit status {code}"
    return spent


def failed(name: str, error: str, log: Path) -> None:
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
    print(f"== {name} FAILED ({error}):\n" + "\n".join(tail), flush=True)


def run_bench(bench: Bench, args: list[str], work: Path, timeout: float) -> dict[str, Any]:
    """Run one script; its JSON document, or its error, with its wall and CPU seconds."""
    result, log = work / f"{bench.script}.json", work / f"{bench.script}.log"
    result.unlink(missing_ok=True)
    spent = run_command([sys.executable, str(ROOT / "bench" / f"{bench.script}.py"), *args,
                            "--json", str(result)], log, timeout)
    error = spent.pop("error", None)
    if error is None and not result.exists():
        error = "wrote no JSON"
    document: dict[str, Any] = {"figures": [], "facts": {}}
    if error is None:
        document = json.loads(result.read_text(encoding="utf-8"))
        if len(document["figures"]) != bench.figures:
            error = f"wrote {len(document['figures'])} figures, not {bench.figures}"
    if error is not None:
        failed(bench.script, error, log)
        return {**document, "error": error, **spent}
    print(f"== {bench.script}: {len(document['figures'])} figures in {spent['seconds']:.0f} s",
          flush=True)
    return {**document, **spent}


class SharedModel:
    """The suite's one model (`shared_model.py`), trained once; the benches wait for it."""

    def __init__(self, folder: Path, work: Path, timeout: float) -> None:
        self.folder, self.work, self.timeout = folder, work, timeout
        self.ready = threading.Event()
        self.record: dict[str, Any] = {}

    def train(self, extract: str, truth: str) -> None:
        """Train it on `extract` (the main lane does, first); a failure is kept in `record`."""
        log = self.work / "shared_model.log"
        self.record = run_command(
            [sys.executable, str(ROOT / "bench" / "shared_model.py"), "--extract", extract,
             "--truth", truth, "--out", str(self.folder)], log, self.timeout)
        if "error" in self.record:
            failed("shared_model", self.record["error"], log)
        else:
            print(f"== shared model: trained in {self.record['seconds']:.0f} s", flush=True)
        self.ready.set()

    def error(self) -> str | None:
        """Wait for the model; why there is none, if there is none."""
        self.ready.wait()
        if "error" in self.record:
            return "the shared model was not trained: " + str(self.record["error"])
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPUs, their model, memory."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "unknown")
    kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal:"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": kib / 2**20,
            "python": platform.python_version()}


def commit() -> str:
    """The checked-out commit, marked ``-dirty`` when files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("-dirty" if dirty else "")
