"""Settings of the synthetic extract generator and the day arithmetic it shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

import numpy as np

from data_contracts.vocab import FEED_FORMATS
from pipelines.synth.disparities import Strengths, check_strengths, default_strengths

EPOCH: Final = date(1970, 1, 1)
DAYS_PER_YEAR: Final = 365.25


def to_day(value: date) -> int:
    """Days since 1970-01-01 (the integer behind an Arrow ``date32``)."""
    return (value - EPOCH).days


@dataclass(frozen=True)
class SynthConfig:
    """What to generate.

    Attributes:
        n_referrals: Number of (clean) referrals in the extract.
        seed: Random seed; the same seed gives byte-identical files.
        file_format: ``csv`` or ``parquet``.
        extract_date: The day the extract was taken; nothing in it is later.
        referral_start: First possible referral date.
        history_start: First possible agency record date.
        child_base_rate: Target share of children's referrals with an outcome within 365 days.
        adult_base_rate: The same for adults at risk (published: s42 enquiries are 28.9%
            of safeguarding concerns).
        corrupt: Whether to inject a few deliberately broken rows.
        corrupt_event_share: Share of event rows to add as broken copies.
        disparities: Strength of each planted disparity, as ``(name, strength)`` pairs
            (``pipelines.synth.disparities``); mechanisms not named are off.
    """

    n_referrals: int = 10_000
    seed: int = 0
    file_format: str = "csv"
    extract_date: date = field(default=date(2026, 9, 30))
    referral_start: date = field(default=date(2020, 1, 1))
    history_start: date = field(default=date(2015, 1, 1))
    child_base_rate: float = 0.16
    adult_base_rate: float = 0.289
    corrupt: bool = True
    corrupt_event_share: float = 0.0002
    disparities: Strengths = field(default_factory=default_strengths)

    def __post_init__(self) -> None:
        if self.n_referrals < 1:
            raise ValueError("n_referrals must be at least 1")
        if self.file_format not in FEED_FORMATS:
            raise ValueError(f"file_format must be one of {FEED_FORMATS}")
        if not self.history_start < self.referral_start < self.extract_date:
            raise ValueError("need history_start < referral_start < extract_date")
        if not (0.0 < self.child_base_rate < 1.0 and 0.0 < self.adult_base_rate < 1.0):
            raise ValueError("base rates must be in (0, 1)")
        check_strengths(self.disparities)

    @property
    def extract_day(self) -> int:
        """The extract date as a day number."""
        return to_day(self.extract_date)

    @property
    def referral_start_day(self) -> int:
        """The first referral date as a day number."""
        return to_day(self.referral_start)

    @property
    def history_start_day(self) -> int:
        """The first agency record date as a day number."""
        return to_day(self.history_start)


def spawn_generators(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """One independent random stream per generation stage, stable for a seed."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def choose(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """Draw one category per row from a (rows, categories) probability matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random((probabilities.shape[0], 1))
    chosen: np.ndarray = (draws >= cumulative).sum(axis=1)
    return chosen.clip(0, probabilities.shape[1] - 1)
