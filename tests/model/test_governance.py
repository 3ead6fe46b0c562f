"""Governance settings: bands and escalation rules come from a file, and are checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model import governance
from model.governance import GovernanceError, load_governance, parse_governance
from pipelines.manifest import FEATURE_NAMES


def test_default_bands_cover_every_score_once() -> None:
    settings, _ = load_governance()
    bands = settings.band_index(np.arange(1, 21))
    assert bands[0] == 0 and bands[-1] == len(settings.bands) - 1
    assert np.all(np.diff(bands) >= 0)


def test_an_escalation_rule_raises_but_never_lowers_a_band() -> None:
    settings, _ = load_governance()
    features = np.zeros((3, len(FEATURE_NAMES)), dtype=np.float32)
    features[:, FEATURE_NAMES.index("subject_police_dash_high_risk_90d")] = [1, 1, 0]
    very_high = len(settings.bands) - 1
    final, fired = settings.escalate(np.array([0, very_high, 0]), features, FEATURE_NAMES)
    assert list(final) == [settings.band_named("high"), very_high, 0]
    assert [r.name for r in fired[0]] == ["recent_dash_high_risk"] and fired[2] == []


def test_a_board_can_change_the_cut_offs_without_code(tmp_path: Path) -> None:
    _, text = load_governance()
    path = tmp_path / "ours.toml"
    path.write_text(text.replace("min_score = 16", "min_score = 14"), encoding="utf-8")
    settings, _ = load_governance(path)
    assert settings.bands[settings.band_index(np.array([14]))[0]].name == "high"


@pytest.mark.parametrize(("change", "message"), [
    (("min_score = 11", "min_score = 30"), "less than or equal to 20"),
    (("min_score = 16", "min_score = 11"), "rise strictly"),
    (('minimum_band = "high"', 'minimum_band = "urgent"'), "unknown band 'urgent'"),
    (("subject_police_dash_high_risk_90d", "subject_police_dash_90d"), "unknown features"),
    (('rag = "amber"', 'rag = "purple"'), "rag"),
    (("[[bands]]", "[[bands"), "not valid TOML"),
    (("min_score = 1\n", "min_score = 2\n"), "start at min_score 1"),
    (("mental_health = [", "mental_wellbeing = ["), "unknown presenting need 'mental_wellbeing'"),
    (('mental_health = ["health"]', 'mental_health = ["health", "gp"]'),
     r"usual_agencies\['mental_health'\]: unknown agencies \['gp'\]"),
])
def test_bad_settings_are_refused_with_the_reason(tmp_path: Path, change: tuple[str, str],
                                                  message: str) -> None:
    _, text = load_governance()
    with pytest.raises(GovernanceError, match=message):
        parse_governance(text.replace(*change, 1))


def test_a_missing_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GovernanceError, match="nowhere.toml"):
        load_governance(tmp_path / "nowhere.toml")


def test_each_score_falls_in_the_band_whose_range_holds_it() -> None:
    settings, _ = load_governance()
    names = [settings.bands[i].name for i in settings.band_index(np.arange(1, 21))]
    assert names == ["low"] * 10 + ["medium"] * 5 + ["high"] * 3 + ["very high"] * 2


def test_a_rule_fires_at_its_threshold_on_any_of_its_features_and_names_itself() -> None:
    settings, _ = load_governance()
    features = np.zeros((3, len(FEATURE_NAMES)), dtype=np.float32)
    features[0, FEATURE_NAMES.index("other_adults_probation_mappa_nominal_365d")] = 1
    features[1, FEATURE_NAMES.index("parents_carers_probation_mappa_nominal_365d")] = 0.5
    features[2, FEATURE_NAMES.index("subject_social_care_child_protection_plan_90d")] = 3
    features[2, FEATURE_NAMES.index("other_adults_police_dash_high_risk_90d")] = 1
    final, fired = settings.escalate(np.zeros(3, dtype=int), features, FEATURE_NAMES)
    assert list(final) == [settings.band_named("medium"), 0, settings.band_named("high")]
    assert [[rule.name for rule in rules] for rules in fired] == [
        ["mappa_nominal_in_household"], [],
        ["recent_dash_high_risk", "current_child_protection_plan"],
    ]
    assert settings.band_named("very high") == len(settings.bands) - 1


def test_an_unreadable_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GovernanceError, match="cannot read governance settings"):
        load_governance(tmp_path)  # a folder, not a file


def test_a_refusal_names_the_file_each_bad_field_and_a_settings_wide_problem(
    tmp_path: Path,
) -> None:
    _, text = load_governance()
    path = tmp_path / "ours.toml"
    path.write_text(text.replace("min_score = 11", "min_score = 30", 1)
                    .replace('rag = "amber"', 'rag = "purple"', 1), encoding="utf-8")
    with pytest.raises(GovernanceError) as refused:
        load_governance(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: bands.1.min_score: ")
    assert "; bands.1.rag: " in message
    with pytest.raises(GovernanceError, match=r"^governance settings: settings: Value error, "
                                              "bands must start at min_score 1"):
        parse_governance(text.replace("min_score = 1\n", "min_score = 2\n", 1))


def test_broken_shipped_settings_are_refused_naming_the_shipped_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = governance.default_settings_text()
    monkeypatch.setattr(governance, "default_settings_text",
                        lambda: shipped.replace("min_score = 11", "min_score = 30", 1))
    with pytest.raises(GovernanceError, match=r"^model/governance\.toml: bands\.1\.min_score: "):
        load_governance()



def test_the_fairness_audit_selects_the_named_band_and_every_band_above_it() -> None:
    _, text = load_governance()
    assert parse_governance(text).selected_bands() == ("high", "very high")
    medium = text.replace('selected_from_band = "high"', 'selected_from_band = "medium"')
    assert parse_governance(medium).selected_bands() == ("medium", "high", "very high")
