"""A Spark job that runs out of memory ends in one line naming the cause and the fix, on a
real OutOfMemoryError: in the shared test JVM (a request for more heap than it has, which
it survives), and in a JVM of its own given 128m, where the features job itself runs out."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from py4j.java_gateway import GatewayParameters, JavaGateway, JavaObject
from py4j.protocol import Py4JJavaError
from typer.testing import CliRunner

from api.cli import app
from pipelines.spark.errors import OOM_EXIT_CODE, out_of_memory
from pipelines.synth import SynthConfig, generate_extract

# The shared test session's driver memory is LOCAL_TEST_SETTINGS's 1g.
OUT_OF_HEAP_1G = (
    "error: Spark ran out of memory (Java heap space) with spark.driver.memory=1g: give it "
    "more with --conf spark.driver.memory=2g, or on a cluster more executors or executor "
    "memory (spark.executor.memory)")


def exhaust_heap(table: Any, *_: Any) -> None:
    """Ask the table's JVM for an 8 GB array: a real ``java.lang.OutOfMemoryError: Java heap
    space``, raised as the Py4JJavaError a Spark action raises; the JVM carries on."""
    jvm = table.sparkSession.sparkContext._jvm
    jvm.java.lang.reflect.Array.newInstance(jvm.java.lang.Long.TYPE, 1_000_000_000)


class Process:
    """A launched JVM as `out_of_memory` sees it: its exit code, once it has stopped."""

    def __init__(self, code: int) -> None:
        self.code, self.waited = code, False

    def wait(self, timeout: float | None = None) -> int:
        self.waited = True
        return self.code


def _error_from_a_stopped_jvm() -> Py4JJavaError:
    """The error a Spark action raised, whose JVM has since stopped: asked for its text,
    py4j cannot reach it (Python prints such an error as ``<exception str() failed>``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: a JVM no longer listening
    # No finalizer asking the stopped JVM to release the object: run by the garbage
    # collector in the middle of pytest compiling a module, it trips CPython 3.11.7
    # ("SystemError: AST constructor recursion depth mismatch").
    parameters = GatewayParameters(port=port, enable_memory_management=False)
    client = JavaGateway(gateway_parameters=parameters)._gateway_client
    return Py4JJavaError("An error occurred while calling o45.parquet",
                         JavaObject("o46", client))


def test_an_error_whose_jvm_stopped_for_memory_is_out_of_memory() -> None:
    error = _error_from_a_stopped_jvm()
    with pytest.raises(Exception, match="Java server"):
        str(error)
    assert out_of_memory(error, Process(OOM_EXIT_CODE)) == "the JVM stopped with exit code 52"
    # the JVM stopped for another reason; or spark-submit launched it (no process to ask)
    assert out_of_memory(error, Process(1)) is None
    assert out_of_memory(error, None) is None


def test_a_refused_connection_after_the_jvm_stopped_for_memory_is_out_of_memory() -> None:
    try:
        try:
            raise _error_from_a_stopped_jvm()
        except Py4JJavaError:
            raise ConnectionRefusedError(111, "Connection refused") from None
    except ConnectionRefusedError as refused:
        assert out_of_memory(refused, Process(OOM_EXIT_CODE)) == (
            "the JVM stopped with exit code 52")


def test_other_errors_are_not_out_of_memory_and_the_jvm_is_not_waited_for() -> None:
    jvm = Process(OOM_EXIT_CODE)
    assert out_of_memory(ValueError("spark.sql.shuffle.partitions"), jvm) is None
    assert out_of_memory(MemoryError(), jvm) is None  # Python's own: not the JVM's
    assert not jvm.waited


def test_an_out_of_memory_error_anywhere_in_the_chain_is_named_with_its_kind() -> None:
    stage = ("Job aborted due to stage failure: Task serialization failed: java.lang."
             "OutOfMemoryError: GC overhead limit exceeded\njava.lang.OutOfMemoryError: GC")
    try:
        try:
            raise RuntimeError(stage)
        except RuntimeError as cause:
            raise OSError("cleaning up") from cause
    except OSError as error:
        assert out_of_memory(error, None) == "GC overhead limit exceeded"


def test_an_error_already_put_in_words_from_none_is_left_as_it_is() -> None:
    """A worker's RegistryError is raised from the Spark error carrying it ``from None``."""
    try:
        try:
            raise RuntimeError("java.lang.OutOfMemoryError: Java heap space")
        except RuntimeError:
            raise LookupError("version 1 has changed (checksum)") from None
    except LookupError as error:
        assert out_of_memory(error, None) is None


def test_sparks_own_out_of_memory_error_is_named_without_its_sqlstate() -> None:
    """A subclass of Java's: execution memory Spark could not get (the JVM carries on)."""
    error = RuntimeError(
        "An error occurred while calling o1298.parquet.\n: org.apache.spark.SparkException: "
        "Job aborted\nCaused by: org.apache.spark.memory.SparkOutOfMemoryError: "
        "[AGGREGATE_OUT_OF_MEMORY] No enough memory for aggregation SQLSTATE: 82001\n\tat x")
    assert out_of_memory(error, None) == (
        "[AGGREGATE_OUT_OF_MEMORY] No enough memory for aggregation")


def test_features_on_spark_out_of_heap_end_in_one_line_naming_memory(
        spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extract = tmp_path / "extract"
    generate_extract(SynthConfig(n_referrals=50, seed=3, corrupt=False), out_dir=extract)
    monkeypatch.setattr("pipelines.spark.job.write_parquet", exhaust_heap)
    result = CliRunner().invoke(app, [
        "features", "--input", str(extract), "--output", str(tmp_path / "f.parquet"),
        "--engine", "spark", "--master", "local[2]"])
    assert (result.exit_code, result.output.strip()) == (1, OUT_OF_HEAP_1G)
    assert spark.range(3).count() == 3  # the shared JVM carries on


@pytest.mark.slow
def test_the_features_job_run_out_of_its_own_memory_ends_in_one_line(tmp_path: Path) -> None:
    """The real job, as a user runs it, in a JVM of its own with a 128m heap (Spark wants
    450m unless told otherwise: spark.testing.memory). It runs out either on the driver's
    own thread or in a task, which stops the JVM: the same one line either way."""
    extract = tmp_path / "extract"
    generate_extract(SynthConfig(n_referrals=200, seed=8, corrupt=False), out_dir=extract)
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "features",
         "--input", str(extract), "--output", str(tmp_path / "f.parquet"),
         "--engine", "spark", "--master", "local[2]", "--conf", "spark.driver.memory=128m",
         "--conf", f"spark.testing.memory={1024**3}", "--conf", "spark.ui.enabled=false"],
        capture_output=True, text=True, timeout=900, check=False)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1, done.stderr[-3000:]
    assert last.startswith("error: Spark ran out of memory ("), done.stderr[-3000:]
    assert last.endswith(
        ") with spark.driver.memory=128m: give it more with --conf spark.driver.memory=256m, "
        "or on a cluster more executors or executor memory (spark.executor.memory)")
    assert "Traceback" not in done.stderr and not (tmp_path / "f.parquet").exists()
