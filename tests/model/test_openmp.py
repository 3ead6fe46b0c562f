"""The train, score and audit workflows load scikit-learn's OpenMP runtime with sleeping waiters."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# libgomp prints its settings when it loads, spin count included (`OMP_DISPLAY_ENV`).
PROBE = "import model.workflow, sklearn.ensemble"


def _openmp_settings(extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env |= {"OMP_DISPLAY_ENV": "VERBOSE", **extra}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    if "GOMP_SPINCOUNT" not in done.stderr:
        pytest.skip("scikit-learn's OpenMP runtime here is not libgomp")
    return done.stderr


def test_workflow_sets_passive_waiting_before_scikit_learn_loads() -> None:
    assert "GOMP_SPINCOUNT = '0'" in _openmp_settings({})


def test_a_wait_policy_the_user_set_is_kept() -> None:
    settings = _openmp_settings({"OMP_WAIT_POLICY": "ACTIVE"})
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in settings
