"""API keys' exact formats and limits, which the route-by-route access tests leave free:
the stored hash (a key issued by one version must verify under the next), the shape of
an issued key, the bounds of a well-formed key, the memory of verified keys, the
command line's key check, and what a refusal says. Each test kills mutants mutmut
found surviving (MUTATION.md)."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import api_keys
from api.api_keys import KeyHasher, issue_key, split_key
from api.app import create_app
from api.auth import Principal, authenticate_key
from api.auth_limits import TOO_MANY_FAILURES
from api.store import Store, init_db, repository
from tests.api.conftest import ApiEnv, issue_keys, make_settings
from tests.api.fakes import FakeScorer

PEPPER = "a test pepper"


def test_a_secret_is_stored_as_pbkdf2_sha256_of_its_hmac_under_the_pepper() -> None:
    # The stored format: a key issued by one version must verify under the next.
    material = hmac.new(PEPPER.encode(), b"s3cret", hashlib.sha256).digest()
    expected = hashlib.pbkdf2_hmac("sha256", material, bytes.fromhex("ab" * 16), 120_000)
    assert KeyHasher(PEPPER).hash("s3cret", "ab" * 16) == expected.hex()


def test_a_verified_secret_is_remembered_and_only_that_secret_is_admitted_from_memory() -> None:
    hasher, salt = KeyHasher(PEPPER), "cd" * 16
    stored = hasher.hash("right", salt)
    assert hasher.verify_cached("right", stored_hash=stored) is None
    assert not hasher.verify("wrong", salt=salt, stored_hash=stored)
    assert hasher.verify_cached("right", stored_hash=stored) is None
    assert hasher.verify("right", salt=salt, stored_hash=stored)
    assert hasher.verify_cached("right", stored_hash=stored) is True
    assert hasher.verify_cached("wrong", stored_hash=stored) is False
    assert not hasher.verify("wrong", salt=salt, stored_hash=stored)


def test_the_memory_of_verified_keys_is_emptied_when_it_reaches_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(api_keys, "_VERIFIED_CACHE_MAX", 3)
    hasher, salt = KeyHasher(PEPPER), "ef" * 16
    stored = {secret: hasher.hash(secret, salt) for secret in ("a", "b", "c", "d")}
    for secret in ("a", "b", "c"):
        assert hasher.verify(secret, salt=salt, stored_hash=stored[secret])
    assert all(hasher.verify_cached(s, stored_hash=stored[s]) for s in ("a", "b", "c"))
    assert hasher.verify("d", salt=salt, stored_hash=stored["d"])
    assert hasher.verify_cached("a", stored_hash=stored["a"]) is None
    assert hasher.verify_cached("d", stored_hash=stored["d"]) is True


def _counting_hashes(hasher: KeyHasher) -> list[tuple[str, str]]:
    """The (secret, salt) of every PBKDF2 run ``hasher`` makes from now on."""
    calls: list[tuple[str, str]] = []
    real_hash = hasher.hash

    def counted(secret: str, salt: str) -> str:
        calls.append((secret, salt))
        return real_hash(secret, salt)

    hasher.hash = counted  # type: ignore[method-assign]
    return calls


def test_a_refusal_runs_pbkdf2_against_no_key() -> None:
    hasher = KeyHasher(PEPPER)
    calls = _counting_hashes(hasher)
    assert hasher.refuse("guess") is False
    assert calls == [("guess", "00" * 16)]


def test_only_a_key_verified_before_skips_the_pbkdf2_run() -> None:
    hasher, salt = KeyHasher(PEPPER), "12" * 16
    stored = hasher.hash("right", salt)
    calls = _counting_hashes(hasher)
    assert hasher.verify("right", salt=salt, stored_hash=stored)
    assert hasher.verify("right", salt=salt, stored_hash=stored)
    assert not hasher.verify("wrong", salt=salt, stored_hash=stored)
    assert calls == [("right", salt), ("wrong", salt)]


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("  0123abcd.s3cret \n", ("0123abcd", "s3cret")),
        ("k.a.b", ("k", "a.b")),
        ("A" * 32 + ".s", ("A" * 32, "s")),
        ("x." + "s" * 128, ("x", "s" * 128)),
        ("A" * 33 + ".s", None),
        ("x." + "s" * 129, None),
        (".s3cret", None),
        ("0123abcd.", None),
        ("0123abcd", None),
        ("01 23.s3cret", None),
        ("01/23.s3cret", None),
    ],
)
def test_a_key_is_a_key_id_of_up_to_32_and_a_secret_of_up_to_128_characters(
    key: str, parts: tuple[str, str] | None
) -> None:
    assert split_key(key) == parts


@pytest.fixture
def store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    init_db(url)
    return Store(url)


def test_an_issued_key_is_a_random_hex_id_and_a_256_bit_secret_under_a_128_bit_salt(
    store: Store,
) -> None:
    hasher = KeyHasher(PEPPER)
    with store.session() as session:
        issued = [issue_key(session, hasher, name=f"u{n}", role="triage") for n in range(2)]
        session.commit()
    for one in issued:
        key_id, secret = one.key.split(".")
        assert re.fullmatch(r"[0-9a-f]{16}", key_id) and key_id == one.user.key_id
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
        assert re.fullmatch(r"[0-9a-f]{32}", one.user.key_salt)
        assert one.user.key_hash == hasher.hash(secret, one.user.key_salt)
        assert (one.user.name, one.user.role) == (f"u{issued.index(one)}", "triage")
    assert issued[0].key != issued[1].key and issued[0].user.key_salt != issued[1].user.key_salt
    store.dispose()


def test_an_unknown_role_is_refused_naming_the_roles(store: Store) -> None:
    with store.session() as session, pytest.raises(ValueError) as refused:
        issue_key(session, KeyHasher(PEPPER), name="u", role="boss")
    assert str(refused.value) == (
        "unknown role 'boss': expected one of triage, data_scientist, governance, admin")
    store.dispose()


def test_a_command_acts_only_for_the_active_holder_of_a_right_key(store: Store) -> None:
    hasher = KeyHasher(PEPPER)
    with store.session() as session:
        key = issue_key(session, hasher, name="ana", role="governance").key
        gone = issue_key(session, hasher, name="bob", role="admin").key
        session.flush()
        repository.revoke_user(session, "bob")
        session.commit()
    key_id = key.split(".")[0]
    assert authenticate_key(store, hasher, key) == Principal(name="ana", role="governance")
    assert authenticate_key(store, hasher, f"{key_id}.wrong") is None
    assert authenticate_key(store, hasher, "deadbeefdeadbeef.s3cret") is None
    assert authenticate_key(store, hasher, "not a key") is None
    assert authenticate_key(store, hasher, gone) is None
    store.dispose()


def test_a_refused_key_is_told_what_is_wrong_and_how_to_send_one(api: ApiEnv) -> None:
    response = api.client.get("/v1/model", headers={"Authorization": "Bearer x.wrong"})
    assert response.status_code == 401
    assert response.json()["detail"] == "missing, invalid or revoked API key"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_role_refused_is_told_its_role_and_the_roles_allowed(api: ApiEnv) -> None:
    response = api.client.get("/v1/audit", headers=api.headers("triage"))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "role 'triage' may not do this; allowed: governance, admin")


def test_a_locked_out_key_is_told_why_and_when_to_try_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    init_db(url)
    settings = make_settings(url, auth_failures_per_key=1, auth_lockout_seconds=60.0)
    keys, _ = issue_keys(settings)
    wrong = {"Authorization": f"Bearer {keys['triage'].split('.')[0]}.wrong"}
    with TestClient(create_app(settings, FakeScorer())) as client:
        assert client.get("/v1/model", headers=wrong).status_code == 401
        refused = client.get("/v1/model", headers=wrong)
    assert refused.status_code == 429
    assert refused.json()["detail"] == TOO_MANY_FAILURES
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
