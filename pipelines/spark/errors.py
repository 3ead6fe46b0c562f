"""Errors from Spark's JVM, as the one line a command prints."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Protocol

from pipelines.spark.memory import DRIVER_MEMORY, SPARK_DEFAULT_DRIVER_MEMORY, twice

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The exit code of a JVM Spark stopped for an OutOfMemoryError (SparkExitCode.OOM). In
# local mode a task's OutOfMemoryError stops the driver's own JVM (the executor runs in it),
# and the job fails with no word of memory ("SparkContext was shut down", py4j's
# "Connection refused", or no message at all once the JVM cannot be asked for one).
OOM_EXIT_CODE: Final = 52
JVM_EXIT_WAIT_SECONDS: Final = 30  # its shutdown hooks, before the exit code is known
# Java's, and Spark's own subclass of it (execution memory it could not get, the JVM intact:
# "[AGGREGATE_OUT_OF_MEMORY] No enough memory for aggregation").
_OUT_OF_MEMORY: Final = re.compile(
    r"(?:java\.lang\.|org\.apache\.spark\.memory\.Spark)OutOfMemoryError(?::[ \t]*([^\n]*))?")
UNANSWERED: Final = "<the JVM did not answer>"
_JVM_GONE: Final = (UNANSWERED, "SparkContext was shut down", "Connection refused", "Java side",
                    "Java server")


class SessionRefused(Exception):
    """Spark would not start a session with the settings it was given."""


class SparkOutOfMemory(Exception):
    """A Spark job ran out of memory: the cause, the memory it had and how to give more."""


class JavaProcess(Protocol):
    """The JVM pyspark launched (a `subprocess.Popen`)."""

    def wait(self, timeout: float | None = None) -> int: ...


def jvm_error_line(exc: BaseException) -> str | None:
    """The first line of an error Spark's JVM raised (as py4j or PySpark hands it over),
    without its ``SQLSTATE`` code; None when ``exc`` did not come from Spark."""
    if not type(exc).__module__.startswith(("py4j", "pyspark")):
        return None
    java = getattr(exc, "java_exception", None)  # py4j's: the JVM's own message
    text = str(java.toString()) if java is not None else str(exc)
    first = next((line.strip() for line in text.splitlines() if line.strip()),
                 type(exc).__name__)
    return re.sub(r"\s*SQLSTATE: \w+$", "", first)


def session_refused(exc: BaseException, settings: Mapping[str, str]) -> SessionRefused | None:
    """What to say when building the session raised ``exc``: the ``--conf`` setting Spark
    names as refused, with Spark's reason. None when ``exc`` did not come from Spark."""
    reason = jvm_error_line(exc)
    if reason is None:
        return None
    named = [f"--conf {key}={value}" for key, value in settings.items() if f'"{key}"' in reason]
    return SessionRefused(f"{named[0] if named else 'the Spark session did not start'}: {reason}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from or while handling, as a traceback shows
    them (not a context dropped with ``from None``: an error already put in its words)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        hidden = current.__suppress_context__ and current.__cause__ is None
        current = current.__cause__ or (None if hidden else current.__context__)


def _texts(exc: BaseException) -> Iterator[str]:
    """What ``exc`` says, then its JVM-side exception and that one's causes; `UNANSWERED`
    for a text the JVM no longer gives (py4j's ``str()`` asks it)."""
    try:
        yield str(exc)  # py4j's: the JVM's whole stack, causes included
    except Exception:
        yield UNANSWERED
    java: Any = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    for _ in range(20):  # a cause chain is short; a cycle is not followed for ever
        if java is None:
            return
        try:
            yield str(java.toString())
            java = java.getCause()
        except Exception:
            return


def out_of_memory(exc: BaseException, jvm: JavaProcess | None) -> str | None:
    """Why ``exc`` is a job that ran out of memory (``"Java heap space"``), or None.

    Either a ``java.lang.OutOfMemoryError`` anywhere in its chain of errors, or the JVM
    gone (a refused connection, its context shut down) with Spark's out-of-memory exit
    code: ``jvm`` (None when spark-submit launched it) is waited for, briefly, then.
    """
    errors = list(_chain(exc))
    texts = [text for error in errors for text in _texts(error)]
    for text in texts:
        if found := _OUT_OF_MEMORY.search(text):
            detail = re.sub(r"\s*SQLSTATE: \w+$", "", (found[1] or "").strip())
            return detail or "java.lang.OutOfMemoryError"
    gone = any(isinstance(error, ConnectionError) or type(error).__name__ == "Py4JNetworkError"
               for error in errors) or any(mark in text for text in texts for mark in _JVM_GONE)
    if jvm is None or not gone:
        return None
    try:
        code = jvm.wait(timeout=JVM_EXIT_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        return None
    return f"the JVM stopped with exit code {code}" if code == OOM_EXIT_CODE else None


@contextmanager
def out_of_memory_refused(spark: SparkSession) -> Iterator[None]:
    """Run a Spark job, ending one that runs out of memory with `SparkOutOfMemory`: the
    cause, the driver's memory and how to give more. Other errors pass as they are.

    Raises:
        SparkOutOfMemory: If the job ran out of memory (`out_of_memory`).
    """
    memory = spark.sparkContext.getConf().get(DRIVER_MEMORY) or SPARK_DEFAULT_DRIVER_MEMORY
    gateway = getattr(spark.sparkContext, "_gateway", None)
    jvm = getattr(gateway, "proc", None)  # None under spark-submit: its own JVM
    try:
        yield
    except Exception as exc:
        cause = out_of_memory(exc, jvm)
        if cause is None:
            raise
        more = twice(memory) or "a larger size"
        raise SparkOutOfMemory(
            f"Spark ran out of memory ({cause}) with {DRIVER_MEMORY}={memory}: give it more "
            f"with --conf {DRIVER_MEMORY}={more}, or on a cluster more executors or "
            "executor memory (spark.executor.memory)") from None
