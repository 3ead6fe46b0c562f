"""Integer codes for the vocabularies, shared by the generator, the latent risk and the writer."""

from __future__ import annotations

from typing import Final

import numpy as np

from data_contracts.vocab import AGENCIES, EVENT_TYPES, PRESENTING_NEEDS, REFERRAL_SOURCES

EVENT_CODE: Final[dict[tuple[str, str], int]] = {
    (agency, event_type): code
    for code, (agency, event_type) in enumerate(
        (agency, event_type) for agency in AGENCIES for event_type in EVENT_TYPES[agency]
    )
}
N_EVENT_CODES: Final = len(EVENT_CODE)
AGENCY_OF_CODE: Final = np.array([AGENCIES.index(agency) for agency, _ in EVENT_CODE], np.int8)
TYPE_OF_CODE: Final[tuple[str, ...]] = tuple(event_type for _, event_type in EVENT_CODE)
SOURCE: Final[dict[str, int]] = {source: code for code, source in enumerate(REFERRAL_SOURCES)}
NEED: Final[dict[str, int]] = {need: code for code, need in enumerate(PRESENTING_NEEDS)}
NO_DAY: Final = np.iinfo(np.int64).min  # an empty recorded_date


def codes(agency: str, *event_types: str) -> tuple[int, ...]:
    """Codes of some of an agency's event types."""
    return tuple(EVENT_CODE[(agency, event_type)] for event_type in event_types)
