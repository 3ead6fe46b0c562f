"""What a command says when Spark refuses a setting: one line (no Spark needed here)."""

from __future__ import annotations

from pipelines.spark.errors import jvm_error_line, session_refused

CapturedError = type("IllegalArgumentException", (Exception,),
                     {"__module__": "pyspark.errors.exceptions.captured"})
SPARKS = ('[INVALID_CONF_VALUE.REQUIREMENT] The value \'0\' in the config '
          '"spark.sql.shuffle.partitions" is invalid. The value of spark.sql.shuffle.partitions '
          'must be positive')


def test_the_refused_setting_is_named_with_sparks_one_line_reason() -> None:
    error = CapturedError(f"{SPARKS} SQLSTATE: 22022\n\nJVM stacktrace:\norg.apache.spark.Spark"
                          f"IllegalArgumentException: {SPARKS}\n\tat org.apache.spark.x(y.scala:1)")
    refused = session_refused(error, {"spark.sql.shuffle": "2",
                                      "spark.sql.shuffle.partitions": "0"})
    assert str(refused) == f"--conf spark.sql.shuffle.partitions=0: {SPARKS}"


def test_a_session_that_does_not_start_for_another_reason_says_so_in_one_line() -> None:
    error = CapturedError("Could not parse Master URL: 'nowhere'\n\tat org.apache.spark.x")
    assert str(session_refused(error, {"spark.sql.shuffle.partitions": "4"})) == (
        "the Spark session did not start: Could not parse Master URL: 'nowhere'")


def test_an_error_not_from_spark_is_left_as_it_is() -> None:
    assert jvm_error_line(ValueError("x")) is None
    assert session_refused(MemoryError(), {}) is None
