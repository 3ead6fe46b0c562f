"""A URI in an error message never shows its password."""

from __future__ import annotations

import pytest

from data_contracts.uris import masked_uri


@pytest.mark.parametrize(("uri", "shown"), [
    ("mysql://root:pw@h/x", "mysql://root:***@h/x"),  # pragma: allowlist secret
    ("http://mlflow:s3cret@127.0.0.1:5998",  # pragma: allowlist secret
     "http://mlflow:***@127.0.0.1:5998"),
    ("postgresql+psycopg://u:p@ss:w/rd@db:5432/safeguard",  # an unescaped @ and /
     "postgresql+psycopg://u:***@db:5432/safeguard"),
    ("postgresql://db/safeguard?user=u&password=pw&sslmode=require",
     "postgresql://db/safeguard?user=u&password=***&sslmode=require"),
])
def test_a_password_is_hidden_wherever_the_uri_holds_it(uri: str, shown: str) -> None:
    assert masked_uri(uri) == shown


@pytest.mark.parametrize("uri", [
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "sqlite:////var/safeguard.db",
    "http://127.0.0.1:5000", "https://mlflow.example:443/path", "not a url",
])
def test_a_uri_without_a_password_is_shown_as_it_is(uri: str) -> None:
    assert masked_uri(uri) == uri
