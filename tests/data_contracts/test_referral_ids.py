"""A referral id holds no invisible format character (Unicode's category Cf): `R0003532`
followed by a zero-width space, or preceded by a right-to-left mark, was scored as a
referral of its own that reads `R0003532` on every page. The one pattern refuses each,
anywhere in the id, in a feed's quarantine as in the service."""

from __future__ import annotations

import datetime as dt
import re
import sys
import unicodedata
from typing import Annotated

import pandas as pd
import pytest
from pydantic import Field, TypeAdapter, ValidationError

from data_contracts.parsing import matches_fully
from data_contracts.validate import validate_frames
from data_contracts.vocab import NOT_A_REFERRAL_ID, REFERRAL_ID_PATTERN
from tests.data_contracts import factories as f

# Seen scored, each a second referral reading as the first.
INVISIBLE = ["R0003532\u200b", "\u200fR0003532", "R0003532\ufeff", "R0003532\u2060",
             "\u061cR1", "R\u200b1", "R\u00ad1", "R\u200d1", "R1\U000e0041"]
VISIBLE = ["R0003532", "MASH/2023/0001", "Ref #3", "\u0645\u0631\u062c\u0639 7",
           "caf\u00e9 2", "R\U0001f600"]


def _format_characters() -> list[str]:
    return [chr(point) for point in range(sys.maxunicode + 1)
            if unicodedata.category(chr(point)) == "Cf"]


def test_every_format_character_is_refused_anywhere_and_visible_text_is_not() -> None:
    """Python's `re` (the trail's), pydantic's (the service's request models) and Arrow's
    RE2 (a feed's) alike; an id in any script, or with an emoji, is still an id."""
    service = TypeAdapter(list[Annotated[str, Field(pattern=REFERRAL_ID_PATTERN)]])
    written = [id_ for char in _format_characters()
               for id_ in (f"{char}R1", f"R{char}1", f"R1{char}", f"RR{char}11")]
    assert len(written) > 600
    assert not [id_ for id_ in written if re.fullmatch(REFERRAL_ID_PATTERN, id_)]
    assert not matches_fully(pd.Series(written), REFERRAL_ID_PATTERN).any()
    with pytest.raises(ValidationError) as refused:
        service.validate_python(written)
    assert refused.value.error_count() == len(written)
    assert service.validate_python(VISIBLE) == VISIBLE
    assert all(re.fullmatch(REFERRAL_ID_PATTERN, id_) for id_ in VISIBLE)
    assert matches_fully(pd.Series(VISIBLE), REFERRAL_ID_PATTERN).all()


@pytest.mark.parametrize("referral_id", INVISIBLE)
def test_a_feed_row_whose_id_holds_one_is_quarantined_saying_why(referral_id: str) -> None:
    frames = f.extract()
    row = f.referral_row(referral_id=referral_id, person_id="P000099")
    frames["referrals"] = pd.concat([frames["referrals"], pd.DataFrame([row])],
                                    ignore_index=True)
    result = validate_frames(frames, extract_date=dt.date(2024, 6, 30))
    quarantined = result.quarantine["referrals"]
    assert quarantined["referral_id"].tolist() == [referral_id]
    assert quarantined["reason"].tolist() == [f"referral_id: {NOT_A_REFERRAL_ID}"]
    assert "invisible format character" in NOT_A_REFERRAL_ID
    assert referral_id not in result.feeds["referrals"]["referral_id"].tolist()
