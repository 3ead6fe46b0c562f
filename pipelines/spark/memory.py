"""The Spark driver's memory: in local mode, a share of this machine's, unless set elsewhere.

In local mode the driver's JVM is the only one doing the work (its executor threads run in
it), and Spark's own default heap, 1g, is sized for a driver that only coordinates: the
features job on 30,000 referrals ran out of it. So when nothing sets ``spark.driver.memory``
the session asks for half of this machine's memory (a container's limit when lower), at
most `MAX_LOCAL_DRIVER_GIB`; the other half is left to the Python side (the validated feeds
on the driver, the executors' Python workers). What a user or a cluster sets always wins:
``--conf``, ``spark-defaults.conf`` (or ``--properties-file``), ``--driver-memory``,
``SPARK_DRIVER_MEMORY`` (also from ``spark-env.sh``), and a JVM spark-submit started.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Final

DRIVER_MEMORY: Final = "spark.driver.memory"
SPARK_DEFAULT_DRIVER_MEMORY: Final = "1g"  # Spark's own, when nothing sets it
# Below 32 GiB the JVM keeps compressed object pointers; a larger heap also means longer
# collections, for work (one extract on one machine) that has not needed more than 8g.
MAX_LOCAL_DRIVER_GIB: Final = 16
# A container's memory limit (cgroup v2, then v1): physical memory overstates it there.
CGROUP_LIMITS: Final = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
_UNITS: Final = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024**2, "p": 1024**3}


def machine_memory() -> int | None:
    """This machine's physical memory in bytes (a container's limit when lower); None
    when the system does not say."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not a POSIX system
        return None
    limits = []
    for path in CGROUP_LIMITS:
        with contextlib.suppress(OSError, ValueError):  # no such file, or "max": no limit
            limits.append(int(Path(path).read_text().strip()))
    return min([physical, *limits]) if physical > 0 else None


def local_driver_memory(machine: int | None) -> str | None:
    """Half of ``machine`` bytes in whole GiB, at most `MAX_LOCAL_DRIVER_GIB` (``"11g"``);
    None when that is no more than Spark's own 1g, or the machine's memory is unknown."""
    gib = min((machine or 0) // 2 // 1024**3, MAX_LOCAL_DRIVER_GIB)
    return f"{gib}g" if gib > 1 else None


def mebibytes(size: str) -> float | None:
    """A Spark memory size (``"512m"``, ``"2g"``, ``"2048"``: MiB) in MiB; None if not one."""
    found = re.fullmatch(r"\s*(\d+)\s*([kmgtp]?)b?\s*", size.lower())
    return int(found[1]) * _UNITS[found[2] or "m"] if found else None


def twice(size: str) -> str | None:
    """A Spark memory size twice ``size`` (``"1g"`` -> ``"2g"``, ``"384m"`` -> ``"768m"``)."""
    mib = mebibytes(size)
    if not mib:
        return None
    doubled = int(2 * mib)
    return f"{doubled // 1024}g" if doubled % 1024 == 0 else f"{doubled}m"


def spark_conf_dir(environ: Mapping[str, str]) -> Path:
    """Where spark-submit reads ``spark-defaults.conf`` and ``spark-env.sh``:
    ``SPARK_CONF_DIR``, else ``SPARK_HOME/conf`` (the pyspark package's when unset)."""
    if environ.get("SPARK_CONF_DIR"):
        return Path(environ["SPARK_CONF_DIR"])
    home = environ.get("SPARK_HOME")
    if not home:  # as pyspark's launcher finds it when pip installed
        spec = importlib.util.find_spec("pyspark")
        home = str(Path(spec.origin).parent) if spec and spec.origin else "."
    return Path(home) / "conf"


def read_properties(path: Path) -> dict[str, str]:
    """The keys and values of a Java properties file such as ``spark-defaults.conf``
    (``key value``, ``key=value`` or ``key: value``); {} when it cannot be read."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    pairs = (re.fullmatch(r"([^\s=:]+)\s*[\s=:]\s*(.*)", line.strip()) for line in lines
             if line.strip() and line.strip()[0] not in "#!")
    return {found[1]: found[2].strip() for found in pairs if found}


def _submit_option(args: list[str], name: str) -> str | None:
    """The value of spark-submit's option ``name`` among ``args`` (the last one given)."""
    values = [after for option, after in zip(args, args[1:], strict=False) if option == name]
    values += [arg.partition("=")[2] for arg in args if arg.startswith(f"{name}=")]
    return values[-1] if values else None


def _sets_driver_memory(spark_env: Path) -> bool:
    """Whether a ``spark-env.sh`` sets ``SPARK_DRIVER_MEMORY`` (spark-submit sources it)."""
    try:
        text = spark_env.read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*(export\s+)?SPARK_DRIVER_MEMORY=", text, re.M) is not None


def driver_memory_default(
    master: str | None, settings: Mapping[str, str], environ: Mapping[str, str] | None = None,
    machine: int | None = None,
) -> dict[str, str]:
    """``{"spark.driver.memory": share}`` for a local session that nothing else sizes, or {}.

    Args:
        master: The master the session is asked for (None: spark-submit's, else local[*]).
        settings: The session's ``--conf`` settings.
        environ: The environment spark-submit will see (default ``os.environ``).
        machine: This machine's memory in bytes (default `machine_memory`).
    """
    env = os.environ if environ is None else environ
    if "PYSPARK_GATEWAY_PORT" in env:  # run by spark-submit: its JVM is sized already
        return {}
    args = shlex.split(env.get("PYSPARK_SUBMIT_ARGS", ""))
    submitted = dict(arg.partition("=")[::2] for arg in
                     (after for option, after in zip(args, args[1:], strict=False)
                      if option == "--conf"))
    folder = spark_conf_dir(env)
    properties_file = _submit_option(args, "--properties-file")
    defaults = {**read_properties(folder / "spark-defaults.conf"),
                **(read_properties(Path(properties_file)) if properties_file else {})}
    chosen_master = (_submit_option(args, "--master") or submitted.get("spark.master")
                     or settings.get("spark.master") or master or defaults.get("spark.master")
                     or env.get("MASTER") or "local[*]")
    if not re.fullmatch(r"local(\[[^\]]*\])?", chosen_master.strip()):  # local-cluster too
        return {}
    sized = (
        any(DRIVER_MEMORY in source for source in (settings, submitted, defaults))
        or _submit_option(args, "--driver-memory") or env.get("SPARK_DRIVER_MEMORY")
        or _sets_driver_memory(folder / "spark-env.sh")
    )
    share = None if sized else local_driver_memory(
        machine_memory() if machine is None else machine)
    return {DRIVER_MEMORY: share} if share else {}
