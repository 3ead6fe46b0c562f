"""One small local Spark session shared by every Spark test (two cores, no UI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.spark.session import LOCAL_TEST_SETTINGS, spark_session


def _in_spark_group(item: pytest.Item) -> bool:
    group = item.get_closest_marker("xdist_group")
    return group is not None and group.args[:1] == ("spark",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder runs on Spark: mark it so `-m "not spark"` leaves it out,
    and keep them on one xdist worker (``--dist loadgroup``) so they share one JVM.

    The group (with `make bench QUICK=1`'s test, 5 minutes) goes first: one worker runs
    it, about 10 minutes, while the other runs the rest. Collected last, it started when
    the rest was nearly done and ran alone for its last 6 minutes (`make test` from a
    fresh clone: 24 min 46 s, the bench test the last to end)."""
    for item in items:
        if "tests/spark/" in str(item.fspath):
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.xdist_group("spark"))
    items[:] = sorted(items, key=lambda item: not _in_spark_group(item))  # stable


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The session: ``local[2]``, four shuffle partitions, 1 GiB driver, UI disabled."""
    if shutil.which("java") is None:
        pytest.skip(
            "Java 17 is not on PATH: the Spark tests need it (apt-get install "
            "openjdk-17-jre-headless)"
        )
    session = spark_session("local[2]", settings=LOCAL_TEST_SETTINGS, app_name="safeguard-tests")
    yield session
    session.stop()
