"""`model.partnership.band_changes_mostly`: which way most differing bands would move
without an agency, from the report's own figures."""

from __future__ import annotations

from model.partnership import band_changes_mostly


def test_most_bands_differing_are_said_lower_or_higher_from_the_figures() -> None:
    rows = [  # figures of an independent probe's report (shares of 20,000 referrals)
        {"agency": "education", "band_changed_share": 0.164, "band_lower_without_share": 0.051},
        {"agency": "health", "band_changed_share": 0.398, "band_lower_without_share": 0.397},
        {"agency": "housing", "band_changed_share": 0.0, "band_lower_without_share": 0.0},
        {"agency": "police", "band_changed_share": 0.2, "band_lower_without_share": 0.1},
        {"agency": "probation", "band_changed_share": None, "band_lower_without_share": None},
    ]
    assert band_changes_mostly(rows) == {"lower": ["health"], "higher": ["education"]}
