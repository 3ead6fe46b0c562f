"""The driver's memory in local mode: a share of this machine's unless anything else sets
it (no Spark needed here: the settings are read before any JVM starts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.spark import memory, session
from pipelines.spark.memory import driver_memory_default, local_driver_memory, machine_memory

GIB = 1024**3
MACHINE = 24 * GIB  # half of it: 12g


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    """An empty SPARK_CONF_DIR: no spark-defaults.conf, no spark-env.sh."""
    folder = tmp_path / "conf"
    folder.mkdir()
    return folder


def _default(conf_dir: Path, master: str | None = None, settings: dict[str, str] | None = None,
             **environ: str) -> dict[str, str]:
    return driver_memory_default(master, settings or {},
                                 {"SPARK_CONF_DIR": str(conf_dir), **environ}, MACHINE)


@pytest.mark.parametrize(("machine", "share"), [
    (24 * GIB, "12g"), (23.5 * GIB, "11g"), (64 * GIB, "16g"), (512 * GIB, "16g"),
    (4 * GIB, "2g"), (3.9 * GIB, None), (2 * GIB, None), (None, None),
])
def test_the_share_is_half_the_machine_in_whole_gib_at_most_16g_and_never_below_sparks_1g(
        machine: float | None, share: str | None) -> None:
    assert local_driver_memory(None if machine is None else int(machine)) == share


@pytest.mark.parametrize("master", [None, "local", "local[*]", "local[2]", "local[4,2]"])
def test_a_local_session_that_nothing_sizes_gets_the_share(conf_dir: Path,
                                                           master: str | None) -> None:
    assert _default(conf_dir, master) == {"spark.driver.memory": "12g"}


@pytest.mark.parametrize("master", ["yarn", "spark://hub:7077", "k8s://https://k:443",
                                    "local-cluster[2,1,1024]"])
def test_a_cluster_keeps_sparks_own_default(conf_dir: Path, master: str) -> None:
    assert _default(conf_dir, master) == {}
    assert _default(conf_dir, None, {"spark.master": master}) == {}
    assert _default(conf_dir, None, MASTER=master) == {}


def test_a_driver_memory_given_with_conf_is_never_overridden(conf_dir: Path) -> None:
    assert _default(conf_dir, "local[2]", {"spark.driver.memory": "2g"}) == {}


@pytest.mark.parametrize("line", ["spark.driver.memory   4g", "spark.driver.memory=4g",
                                  "  spark.driver.memory: 4g"])
def test_spark_defaults_conf_setting_the_driver_memory_is_never_overridden(
        conf_dir: Path, tmp_path: Path, line: str) -> None:
    (conf_dir / "spark-defaults.conf").write_text(f"# a cluster's\n{line}\n")
    assert _default(conf_dir) == {}
    home = tmp_path / "spark-home"  # SPARK_HOME/conf when SPARK_CONF_DIR is not set
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "spark-defaults.conf").write_text(f"{line}\n")
    assert driver_memory_default(None, {}, {"SPARK_HOME": str(home)}, MACHINE) == {}


def test_spark_defaults_conf_without_the_driver_memory_leaves_the_share(conf_dir: Path) -> None:
    (conf_dir / "spark-defaults.conf").write_text(
        "# spark.driver.memory 4g\nspark.sql.shuffle.partitions 8\n")
    assert _default(conf_dir) == {"spark.driver.memory": "12g"}


def test_a_cluster_named_in_spark_defaults_conf_keeps_sparks_default(conf_dir: Path) -> None:
    (conf_dir / "spark-defaults.conf").write_text("spark.master yarn\n")
    assert _default(conf_dir) == {}
    assert _default(conf_dir, "local[2]") == {"spark.driver.memory": "12g"}  # --master wins


@pytest.mark.parametrize("environ", [
    {"SPARK_DRIVER_MEMORY": "3g"},
    {"PYSPARK_SUBMIT_ARGS": "--driver-memory 3g pyspark-shell"},
    {"PYSPARK_SUBMIT_ARGS": "--conf spark.driver.memory=3g pyspark-shell"},
    {"PYSPARK_SUBMIT_ARGS": "--master yarn pyspark-shell"},
    {"PYSPARK_GATEWAY_PORT": "41234"},  # run by spark-submit: its JVM exists already
])
def test_spark_submit_and_its_variables_are_never_overridden(
        conf_dir: Path, environ: dict[str, str]) -> None:
    assert _default(conf_dir, **environ) == {}


def test_spark_env_sh_setting_the_driver_memory_is_never_overridden(conf_dir: Path) -> None:
    (conf_dir / "spark-env.sh").write_text("#!/bin/sh\nexport SPARK_DRIVER_MEMORY=6g\n")
    assert _default(conf_dir) == {}
    (conf_dir / "spark-env.sh").write_text("# SPARK_DRIVER_MEMORY=6g\n")
    assert _default(conf_dir) == {"spark.driver.memory": "12g"}


def test_a_properties_file_given_to_spark_submit_is_read(conf_dir: Path, tmp_path: Path) -> None:
    properties = tmp_path / "job.conf"
    properties.write_text("spark.driver.memory 5g\n")
    assert _default(conf_dir, PYSPARK_SUBMIT_ARGS=f"--properties-file {properties} x") == {}


def test_the_machines_memory_is_read_with_sysconf_and_a_containers_limit_when_lower(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 8 * GIB // 4096}
    monkeypatch.setattr(memory.os, "sysconf", pages.__getitem__)
    no_limit, limit = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    no_limit.write_text("max\n")
    monkeypatch.setattr(memory, "CGROUP_LIMITS", (str(no_limit), str(tmp_path / "absent")))
    assert machine_memory() == 8 * GIB
    limit.write_text(f"{3 * GIB}\n")
    monkeypatch.setattr(memory, "CGROUP_LIMITS", (str(no_limit), str(limit)))
    assert machine_memory() == 3 * GIB


class _Started(Exception):
    """Raised in place of starting Spark: the settings the session would start with."""


def _settings_started_with(monkeypatch: pytest.MonkeyPatch, conf_dir: Path, *,
                           jvm_running: bool, settings: dict[str, str] | None = None
                           ) -> dict[str, Any]:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    def get_or_create(builder: Any) -> None:
        raise _Started(dict(builder._options))

    monkeypatch.setenv("SPARK_CONF_DIR", str(conf_dir))
    for name in ("SPARK_DRIVER_MEMORY", "PYSPARK_SUBMIT_ARGS", "PYSPARK_GATEWAY_PORT",
                 "MASTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(memory, "machine_memory", lambda: MACHINE)
    monkeypatch.setattr(SparkContext, "_gateway", object() if jvm_running else None)
    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", get_or_create)
    with pytest.raises(_Started) as started:
        session.spark_session("local[2]", settings=settings)
    return started.value.args[0]


def test_the_session_launching_the_jvm_asks_for_the_share(
        monkeypatch: pytest.MonkeyPatch, conf_dir: Path) -> None:
    options = _settings_started_with(monkeypatch, conf_dir, jvm_running=False)
    assert options["spark.driver.memory"] == "12g"
    options = _settings_started_with(monkeypatch, conf_dir, jvm_running=False,
                                     settings={"spark.driver.memory": "3g"})
    assert options["spark.driver.memory"] == "3g"


def test_a_session_in_a_running_jvm_asks_for_no_memory(
        monkeypatch: pytest.MonkeyPatch, conf_dir: Path) -> None:
    """Its heap was fixed as it was launched: a setting now would only misstate it."""
    options = _settings_started_with(monkeypatch, conf_dir, jvm_running=True)
    assert "spark.driver.memory" not in options
