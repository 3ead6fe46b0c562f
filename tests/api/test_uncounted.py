"""The warnings of what a live case holds that its score does not count (api/uncounted.py)."""

from __future__ import annotations

from typing import Any

import pytest

from api.case_payload import CasePayload
from api.uncounted import uncounted_warnings

REFERRAL: dict[str, Any] = {
    "referral_id": "R1", "person_id": "P1", "referral_date": "2025-01-01",
    "referral_source": "police", "presenting_need": "other", "subject_type": "child",
    "age_years": 5, "sex": "male", "ethnicity_group": "white", "disability": False,
}


def _strangers_warning(n_referrals: int) -> str:
    earlier = [{"referral_id": f"E{i}", "person_id": "NOTINCASE", "referral_date": "2024-06-01"}
               for i in range(n_referrals)]
    case = CasePayload.model_validate({"referral": REFERRAL, "previous_referrals": earlier})
    [said] = [w for w in uncounted_warnings(case, None) if "does not name" in w]
    return said


@pytest.mark.parametrize(("n", "start"), [
    (1, "1 earlier referral about people this case does not name (neither its subject nor a "
        "member of its household) was not counted"),
    (2, "2 earlier referrals about people this case does not name (neither its subject nor a "
        "member of its household) were not counted"),
])
def test_one_thing_not_counted_was_not_counted_and_two_were(n: int, start: str) -> None:
    """A probe read "1 record about people this case does not name ... were not counted"."""
    assert _strangers_warning(n).startswith(start)
