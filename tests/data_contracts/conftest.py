"""Shared fixtures of the data contracts tests."""

from __future__ import annotations

import datetime as dt

import pytest

EXTRACT = dt.date(2024, 6, 30)


@pytest.fixture
def extract_date() -> dt.date:
    """The extract date the factories' rows are valid for."""
    return EXTRACT
