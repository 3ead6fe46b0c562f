"""Errors from Spark's JVM, as the one line a command prints."""

from __future__ import annotations

import re
from collections.abc import Mapping


class SessionRefused(Exception):
    """Spark would not start a session with the settings it was given."""


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
