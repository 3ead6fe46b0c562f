"""OpenMP threads that sleep while they wait, set before scikit-learn's OpenMP runtime loads.

Gradient boosting runs thousands of short OpenMP parallel regions (each tree node builds
histograms and looks for a split). By default a waiting libgomp thread spins for a while
(`GOMP_SPINCOUNT` 300,000) before it sleeps. On a machine with more runnable jobs than
cores, the spinning thread takes the core from the thread that has the work: training on
100,000 referrals on 2 shared cores spent 65-75 CPU seconds in the fit, about 4 x the same fit
on one thread (16 s), and took 3-4 x as long. With sleeping waiters
(`OMP_WAIT_POLICY=PASSIVE`, spin count 0) the two-thread fit used 16.6 CPU seconds. The
thread count and wait policy do not change the model (same histogram sums, same trees).

The runtime reads the variable once, when it loads, so this module must be imported before
scikit-learn: `model.workflow` (the train, score and audit commands) imports it first. A
value already in the environment (the user's, or `GOMP_SPINCOUNT`) is kept.
"""

from __future__ import annotations

import os
from typing import Final

WAIT_POLICY: Final = "PASSIVE"

if "GOMP_SPINCOUNT" not in os.environ:
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
