"""A single live case, encoded and run through the same feature definitions as the batch.

A case payload holds one referral plus the records the hub holds about its subject
and household, in the feed vocabulary:

    {"referral": {...referral fields...},
     "household_members": [{"person_id": ..., "role": ...}, ...],
     "events": [{"agency": ..., "person_id": ..., "event_date": ..., "recorded_date": ...,
                 "event_type": ..., "value": ...}, ...],
     "previous_referrals": [{"referral_id": ..., "person_id": ..., "referral_date": ...}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pipelines.encode import encode_case
from pipelines.features import compute_features


def build_case_features(case: Mapping[str, Any]) -> np.ndarray:
    """Features of one live case (1 x manifest features): the batch row of that referral."""
    return compute_features(encode_case(case))
