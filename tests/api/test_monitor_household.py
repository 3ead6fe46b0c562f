"""`safeguard monitor` on an extract without household membership, against a model
trained with it: every agency's records about household members fall, and the monitor
laid the drift at the agencies' door. It now says first that none could be counted."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import TrainedModel
from tests.api.test_monitor import _monitor_without


def test_monitor_says_no_household_member_was_linked_unlike_at_training(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    assert trained_model.loaded.model.metadata["household_members"] is True  # at training
    result = _monitor_without(trained_model, tmp_path, "household_members.parquet",
                              "--model", trained_model.version)
    assert result.exit_code in (0, 1), result.output  # 1: thresholds crossed, as they may
    assert ("No household_members feed (or a feed without rows): records about parents, "
            "carers and other household members could not be counted for any referral; the "
            "model was trained on an extract that had them, so drift and falls in agencies' "
            "records may come from this, not from the agencies.") in " ".join(
                result.stdout.split()), result.output
