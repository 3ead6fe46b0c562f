"""One small local Spark session shared by every Spark test (two cores, no UI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.spark.session import LOCAL_TEST_SETTINGS, spark_session


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder runs on Spark: mark it so `-m "not spark"` leaves it out,
    and keep them on one xdist worker (``--dist loadgroup``) so they share one JVM."""
    for item in items:
        if "tests/spark/" in str(item.fspath):
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.xdist_group("spark"))


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
