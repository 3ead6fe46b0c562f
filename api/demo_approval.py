"""`make demo`'s approval: the demo governance user approves the newest version, waiving
by name each acceptance threshold the small synthetic demo extract misses.

Each threshold is judged against the board's thresholds (the settings' governance file),
as `safeguard model approve` judges it, and each waiver's reason names the figure
measured, not every group beyond it: a reason is at most `MAX_TEXT` characters, and when
the gate came to fail every finding beyond a threshold (7 December) two reasons that
quoted the check's whole detail passed it and the demo's approval was refused.

Run as `python -m api.demo_approval KEY_FILE`: it calls `safeguard model approve` (beside
this interpreter) and exits with its code.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from api.free_text import MAX_TEXT
from model.threshold_checks import ThresholdCheck

REASON: Final = ("make demo: the demo governance user approves the model trained on the "
                 "synthetic demo extract")
_DETAIL_SHOWN: Final = 300  # a check measured without a figure: the start of its detail


def waiver_reason(check: ThresholdCheck) -> str:
    """Why the demo waives `check`: a demo's, not a board's, with the figure measured."""
    measured = (f"measured {check.measured:.4g}" if check.measured is not None
                else check.detail[:_DETAIL_SHOWN])
    reason = ("demo only, not a board decision: the synthetic demo extract misses it "
              f"({measured}; see the model card)")
    return reason[:MAX_TEXT]


def waiver_options(missed: Iterable[ThresholdCheck]) -> list[str]:
    """`--waive=NAME=REASON` for each threshold missed."""
    return [f"--waive={check.name}={waiver_reason(check)}" for check in missed]


def main(argv: Sequence[str]) -> int:
    """Approve the newest version with the key in `argv[0]`, waiving what it misses."""
    from api.settings import Settings, board_thresholds
    from model.acceptance import unmet
    from model.card import acceptance_checks
    from model.card_sources import read_sources
    from model.registry import ModelRegistry

    settings = Settings()
    registry = ModelRegistry(settings.mlflow_tracking_uri, model_name=settings.model_name,
                             artifact_root=settings.mlflow_artifact_root)
    version = registry.list_versions()[0].version
    missed = unmet(acceptance_checks(read_sources(registry, version),
                                     board=board_thresholds(settings)))
    safeguard = Path(sys.executable).with_name("safeguard")
    return subprocess.run([str(safeguard), "model", "approve", version, "--key-file", argv[0],
                           "--reason", REASON, *waiver_options(missed)], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
