"""Tests of `safeguard synth`: the synthetic extract follows the specification, and its truth
depends only on what was known at referral time."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from data_contracts.vocab import (
    EVENT_FEEDS,
    EVENT_TYPES,
    FEED_COLUMNS,
    FEEDS,
    HOUSEHOLD_MEMBERS,
    HOUSEHOLD_ROLES,
    OUTCOME_TYPES,
    OUTCOMES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
    SUBJECT_TYPES,
    TOKEN_PATTERN,
)
from pipelines.synth import SynthConfig, generate_extract
from pipelines.synth.codes import EVENT_CODE, NEED, NO_DAY, SOURCE
from pipelines.synth.config import to_day
from pipelines.synth.events import Events
from pipelines.synth.population import ROLE, SEX
from pipelines.synth.referrals import Referrals
from pipelines.synth.risk import Memberships, risk_score

N_REFERRALS = 1500
SEED = 11
PERSON_TOKEN = re.compile(r"^[a-f][0-9a-f]{19}$")
HOUSEHOLD_TOKEN = re.compile(r"^[A-Z][A-Z2-7]{15}$")


def _generate(out_dir: Path, **options: object) -> Path:
    config = SynthConfig(n_referrals=options.pop("n_referrals", N_REFERRALS), seed=SEED)
    generate_extract(replace(config, **options), out_dir=out_dir)
    return out_dir


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("synth") / "extract")


def _read(extract_dir: Path, feed: str) -> pd.DataFrame:
    return pd.read_csv(extract_dir / f"{feed}.csv", dtype=str, keep_default_na=False)


def _corruptions(extract_dir: Path) -> pd.DataFrame:
    path = extract_dir.parent / f"{extract_dir.name}.corruptions.csv"
    return pd.read_csv(path, dtype={"feed": str, "row_number": int, "rule": str})


def _clean(extract_dir: Path, feed: str) -> pd.DataFrame:
    """A feed without the rows injected as deliberately broken."""
    frame = _read(extract_dir, feed)
    corruptions = _corruptions(extract_dir)
    return frame.drop(index=corruptions.loc[corruptions["feed"] == feed, "row_number"])


def _truth(extract_dir: Path) -> pd.DataFrame:
    return pq.read_table(extract_dir.parent / f"{extract_dir.name}.truth.parquet").to_pandas()


def _extract_files(extract_dir: Path) -> list[Path]:
    name = extract_dir.name
    outside = [
        extract_dir.parent / f"{name}.truth.parquet",
        extract_dir.parent / f"{name}.corruptions.csv",
    ]
    return sorted(extract_dir.iterdir()) + outside


# --- Determinism and files ------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(extract_dir: Path, tmp_path: Path) -> None:
    again = _generate(tmp_path / "extract")
    first, second = _extract_files(extract_dir), _extract_files(again)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_another_seed_gives_another_extract(extract_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_extract(SynthConfig(n_referrals=N_REFERRALS, seed=SEED + 1), out_dir=other)
    assert (other / "referrals.csv").read_bytes() != (extract_dir / "referrals.csv").read_bytes()


def test_every_feed_is_written_with_exactly_the_specified_columns(extract_dir: Path) -> None:
    assert sorted(p.name for p in extract_dir.iterdir()) == sorted(f"{f}.csv" for f in FEEDS)
    for feed in FEEDS:
        header = (extract_dir / f"{feed}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert tuple(header.split(",")) == FEED_COLUMNS[feed]


def test_parquet_extract_is_deterministic_with_the_same_columns(tmp_path: Path) -> None:
    out = _generate(tmp_path / "parquet", n_referrals=300, file_format="parquet")
    again = _generate(tmp_path / "again", n_referrals=300, file_format="parquet")
    for feed in FEEDS:
        assert tuple(pq.read_schema(out / f"{feed}.parquet").names) == FEED_COLUMNS[feed]
        path = f"{feed}.parquet"
        assert (out / path).read_bytes() == (again / path).read_bytes(), feed


def test_truth_and_corruptions_are_written_outside_the_extract(extract_dir: Path) -> None:
    truth_path = extract_dir.parent / f"{extract_dir.name}.truth.parquet"
    assert truth_path.is_file()
    assert not any("truth" in p.name or "corruption" in p.name for p in extract_dir.iterdir())
    with pytest.raises(ValueError, match="outside"):
        generate_extract(
            SynthConfig(n_referrals=10), extract_dir, truth_path=extract_dir / "t.parquet"
        )


def test_truth_has_one_row_per_referral_with_probabilities_in_the_open_interval(
    extract_dir: Path,
) -> None:
    truth, referrals = _truth(extract_dir), _clean(extract_dir, REFERRALS)
    assert sorted(truth["referral_id"]) == sorted(referrals["referral_id"])
    assert len(truth) == N_REFERRALS
    assert truth["true_probability"].between(0, 1, inclusive="neither").all()
    assert truth.loc[~truth["follow_up_complete"], "label"].isna().all()
    assert truth.loc[truth["follow_up_complete"], "label"].notna().all()


# --- Vocabularies, tokens, dates --------------------------------------------------------


def test_enums_are_within_the_vocabularies(extract_dir: Path) -> None:
    referrals = _clean(extract_dir, REFERRALS)
    for column, vocabulary in (
        ("referral_source", REFERRAL_SOURCES),
        ("presenting_need", PRESENTING_NEEDS),
        ("subject_type", SUBJECT_TYPES),
        ("sex", SEXES),
    ):
        assert set(referrals[column]) <= set(vocabulary), column
    assert set(referrals["disability"]) <= {"true", "false"}
    assert set(referrals["imd_decile"]) <= {"", *map(str, range(1, 11))}
    assert set(_read(extract_dir, HOUSEHOLD_MEMBERS)["role"]) == set(HOUSEHOLD_ROLES)
    assert set(_clean(extract_dir, OUTCOMES)["outcome_type"]) <= set(OUTCOME_TYPES)
    for feed in EVENT_FEEDS:
        agency = feed.removeprefix("events_")
        assert set(_clean(extract_dir, feed)["event_type"]) <= set(EVENT_TYPES[agency]), feed


def test_tokens_look_like_pseudonymous_tokens(extract_dir: Path) -> None:
    members = _read(extract_dir, HOUSEHOLD_MEMBERS)
    persons = pd.concat([members["person_id"], _clean(extract_dir, REFERRALS)["person_id"]])
    assert persons.str.fullmatch(TOKEN_PATTERN.strip("^$")).all()
    assert persons.str.fullmatch(PERSON_TOKEN.pattern.strip("^$")).all()
    assert members["household_id"].str.fullmatch(HOUSEHOLD_TOKEN.pattern.strip("^$")).all()
    assert not persons.str.fullmatch(r"\d+").any()


def test_recorded_date_is_never_before_event_date_except_injected_rows(extract_dir: Path) -> None:
    corruptions = _corruptions(extract_dir)
    for feed in EVENT_FEEDS:
        events = _read(extract_dir, feed)
        recorded = events["recorded_date"]
        well_formed = events["event_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}")
        early = (recorded != "") & well_formed & (recorded < events["event_date"])
        injected = corruptions.loc[
            (corruptions["feed"] == feed)
            & (corruptions["rule"] == "recorded_date_before_event_date"),
            "row_number",
        ]
        assert set(np.flatnonzero(early)) == set(injected), feed


def test_age_is_consistent_with_subject_type(extract_dir: Path) -> None:
    referrals = _clean(extract_dir, REFERRALS)
    age = referrals["age_years"].astype(int)
    child = referrals["subject_type"] == "child"
    assert age[child].between(0, 17).all()
    assert age[~child].between(18, 120).all()
    assert 0.7 < child.mean() < 0.9


def test_outcomes_follow_their_referral_and_precede_the_extract_date(extract_dir: Path) -> None:
    referrals = _clean(extract_dir, REFERRALS).set_index("referral_id")
    outcomes = _clean(extract_dir, OUTCOMES)
    referral_date = referrals.loc[outcomes["referral_id"], "referral_date"].to_numpy()
    assert (outcomes["outcome_date"].to_numpy() >= referral_date).all()
    assert (outcomes["outcome_date"] <= "2026-09-30").all()
    adult = referrals.loc[outcomes["referral_id"], "subject_type"].to_numpy() == "adult_at_risk"
    adult_outcome = outcomes["outcome_type"].to_numpy() == "adult_safeguarding_substantiated"
    assert (adult == adult_outcome).all()


# --- Realism the feature pipeline must cope with ----------------------------------------


def test_extract_has_the_situations_the_pipeline_must_handle(extract_dir: Path) -> None:
    referrals = _clean(extract_dir, REFERRALS)
    members = _read(extract_dir, HOUSEHOLD_MEMBERS)
    repeat_share = referrals["person_id"].duplicated().mean()
    assert 0.15 < repeat_share < 0.35
    assert (members.groupby("household_id").size() > 2).any()
    assert (members.groupby("household_id").size() == 1).any()
    assert members.drop_duplicates(["household_id", "person_id"])["person_id"].duplicated().any()
    assert (referrals["household_id"] == "").any()
    truth = _truth(extract_dir)
    assert 0.05 < (~truth["follow_up_complete"]).mean() < 0.4
    events = pd.concat([_clean(extract_dir, feed) for feed in EVENT_FEEDS])
    assert (events["recorded_date"] > events["event_date"]).mean() > 0.1
    assert (events["recorded_date"] == "").mean() > 0.1
    last_referral = referrals.groupby("person_id")["referral_date"].max().rename("last")
    subjects_events = events.join(last_referral, on="person_id", how="inner")
    assert (subjects_events["event_date"] > subjects_events["last"]).any()


def test_base_rate_is_in_the_documented_range(extract_dir: Path) -> None:
    truth = _truth(extract_dir)
    assert 0.08 < truth.loc[truth["follow_up_complete"], "label"].mean() < 0.22


# --- The latent risk uses only what was known at referral time ----------------------------

REFERRAL_DAY = to_day(date(2022, 6, 1))
SUBJECT, CARER, SIBLING = 0, 1, 2
CONCERNING_CODES = sorted(
    code for (agency, event_type), code in EVENT_CODE.items() if event_type != "attendance_rate"
)


def _one_referral(age: int = 3) -> tuple[Referrals, Memberships]:
    referrals = Referrals(
        person=np.array([SUBJECT]),
        household=np.array([0]),
        day=np.array([REFERRAL_DAY]),
        age=np.array([age]),
        is_adult=np.array([False]),
        source=np.array([SOURCE["police"]]),
        need=np.array([NEED["domestic_abuse"]]),
        sex=np.array([SEX["female"]]),
    )
    members = Memberships(
        household=np.zeros(3, dtype=np.int64),
        person=np.array([SUBJECT, CARER, SIBLING]),
        role=np.array([ROLE["subject"], ROLE["parent_carer"], ROLE["sibling"]]),
    )
    return referrals, members


def _events(rows: list[tuple[int, int, int, int, float]]) -> Events:
    """Events from (person, code, event_day, recorded_day or NO_DAY, value) rows."""
    columns = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    return Events(
        person=np.array(columns[0], dtype=np.int64),
        code=np.array(columns[1], dtype=np.int16),
        event_day=np.array(columns[2], dtype=np.int64),
        recorded_day=np.array(columns[3], dtype=np.int64),
        value=np.array(columns[4], dtype=np.float64),
    )


def _score(rows: list[tuple[int, int, int, int, float]]) -> float:
    referrals, members = _one_referral()
    return float(risk_score(referrals, members, _events(rows))[0])


def test_a_late_recorded_record_leaves_the_risk_unchanged() -> None:
    injury = EVENT_CODE[("health", "unexplained_injury")]
    late = (SUBJECT, injury, REFERRAL_DAY - 20, REFERRAL_DAY + 1, np.nan)
    assert _score([late]) == _score([])


def test_a_record_known_before_the_referral_raises_the_risk() -> None:
    injury = EVENT_CODE[("health", "unexplained_injury")]
    known = (SUBJECT, injury, REFERRAL_DAY - 20, REFERRAL_DAY - 2, np.nan)
    same_day = (SUBJECT, injury, REFERRAL_DAY, NO_DAY, np.nan)
    assert _score([known]) > _score([])
    assert _score([same_day]) > _score([])


def test_a_parents_domestic_abuse_raises_a_young_childs_risk() -> None:
    incident = EVENT_CODE[("police", "domestic_abuse_incident")]
    assert _score([(CARER, incident, REFERRAL_DAY - 30, NO_DAY, np.nan)]) > _score([])


def test_higher_attendance_means_lower_risk() -> None:
    attendance = EVENT_CODE[("education", "attendance_rate")]
    referrals, members = _one_referral(age=10)

    def score(rate: float) -> float:
        rows = [(SUBJECT, attendance, REFERRAL_DAY - 60, NO_DAY, rate)]
        return float(risk_score(referrals, members, _events(rows))[0])

    assert score(70.0) > score(85.0) > score(95.0)
    assert score(95.0) == score(99.0)


event_rows = st.lists(
    st.tuples(
        st.sampled_from([SUBJECT, CARER, SIBLING]),
        st.sampled_from(CONCERNING_CODES),
        st.integers(REFERRAL_DAY - 3000, REFERRAL_DAY + 400),
        st.integers(0, 60),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(history=event_rows, new=event_rows.filter(bool))
def test_only_records_known_by_the_referral_date_move_the_risk_and_never_down(
    history: list[tuple[int, int, int, int]], new: list[tuple[int, int, int, int]]
) -> None:
    def rows(drawn: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int, float]]:
        return [(p, c, day, day + lag if lag else NO_DAY, np.nan) for p, c, day, lag in drawn]

    before = _score(rows(history))
    after = _score(rows(history + new))
    known_in_time = any(day + lag <= REFERRAL_DAY for _, _, day, lag in new)
    if not known_in_time:
        assert after == before
    assert after >= before


# --- CLI and validator --------------------------------------------------------------------


def test_cli_clean_flag_injects_nothing(tmp_path: Path) -> None:
    import typer

    from pipelines.cli import register

    app = typer.Typer()
    register(app)
    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--referrals", "200", "--clean"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "referrals.csv").is_file()
    corruptions = (tmp_path / "cli.corruptions.csv").read_text(encoding="utf-8")
    assert corruptions.strip() == "feed,row_number,rule"


def _validate(extract_dir: Path) -> Any:
    from data_contracts import validate_extract

    return validate_extract(extract_dir, extract_date=date(2026, 9, 30))


def test_validator_quarantines_exactly_the_injected_rows(extract_dir: Path) -> None:
    result = _validate(extract_dir)
    corruptions = _corruptions(extract_dir)
    for feed in FEEDS:
        quarantined = result.quarantine.get(feed, pd.DataFrame(columns=["reason"]))
        injected = corruptions.loc[corruptions["feed"] == feed, "row_number"]
        assert len(quarantined) == len(injected), (feed, quarantined["reason"].tolist())
        written = _read(extract_dir, feed).iloc[sorted(injected)]
        assert sorted(written[FEED_COLUMNS[feed][0]]) == sorted(
            quarantined[FEED_COLUMNS[feed][0]].astype(str)
        )


def test_validator_accepts_every_row_of_a_clean_extract(tmp_path: Path) -> None:
    result = _validate(_generate(tmp_path / "clean", corrupt=False))
    assert {feed: len(q) for feed, q in result.quarantine.items() if len(q)} == {}


def test_arrow_helpers_build_the_same_arrays_as_pyarrow() -> None:
    import pyarrow as pa

    from pipelines.synth.arrow import arrow, strings, token_strings, true_positions

    values = np.array([3, -1, 7], dtype=np.int64)
    missing = np.array([False, True, False])
    assert arrow(values, missing).equals(pa.array(values, mask=missing))
    flags = np.array([True, False, True, True, False, False, False, False, True])
    assert arrow(flags).equals(pa.array(flags))
    assert arrow(np.array([0.5, 2.0]), np.array([False, True])).equals(pa.array([0.5, None]))
    assert strings(["a", "", "école"]).equals(pa.array(["a", "", "école"], pa.string()))
    tokens = np.array([b"ab12", b"cd34"], dtype="S4")
    assert token_strings(tokens).equals(pa.array(["ab12", "cd34"], pa.string()))
    mask = pa.chunked_array([[True, False], [False, True]])
    assert true_positions(mask).tolist() == [0, 3]
