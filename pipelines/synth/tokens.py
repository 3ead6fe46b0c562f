"""Pseudonymous tokens that look like the hub's HMAC-derived identifiers."""

from __future__ import annotations

from typing import Final

import numpy as np

HEX_ALPHABET: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
BASE32_ALPHABET: Final = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)
PERSON_TOKEN_LENGTH: Final = 20
HOUSEHOLD_TOKEN_LENGTH: Final = 16
# Tokens start with a letter, so a token is never all digits (nothing like an NHS number).
HEX_LETTERS: Final = (10, 6)  # offset and count of 'a'..'f' in the hex alphabet
BASE32_LETTERS: Final = (0, 26)  # offset and count of 'A'..'Z' in the base32 alphabet


def _draw(
    rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray, letters: tuple[int, int]
) -> tuple[np.ndarray, bool]:
    """Tokens, and whether they are surely distinct (their first 64 random bits are)."""
    symbols = rng.integers(0, alphabet.size, size=(n, length), dtype=np.int64)
    symbols[:, 0] = letters[0] + rng.integers(0, letters[1], size=n)
    chars = np.ascontiguousarray(alphabet[symbols])
    bits = int(alphabet.size).bit_length() - 1
    key = np.zeros(n, dtype=np.uint64)
    for column in range(1, 1 + 64 // bits):
        key = (key << np.uint64(bits)) | symbols[:, column].astype(np.uint64)
    key.sort()  # (np.unique hashes, much slower than a sort here)
    return chars.view(f"S{length}").ravel(), not (key[1:] == key[:-1]).any()


def _unique_tokens(
    rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray, letters: tuple[int, int]
) -> np.ndarray:
    tokens, distinct = _draw(rng, n, length, alphabet, letters)
    # 80 random bits make a collision vanishingly rare; redraw rather than assume. Distinct
    # 64-bit prefixes (cheap to check) prove it; otherwise compare the whole tokens.
    while not distinct and np.unique(tokens).size < n:
        tokens, distinct = _draw(rng, n, length, alphabet, letters)
    return tokens


def person_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct lower-case hex person tokens starting with a letter (ASCII bytes)."""
    return _unique_tokens(rng, n, PERSON_TOKEN_LENGTH, HEX_ALPHABET, HEX_LETTERS)


def household_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct upper-case base32 household tokens starting with a letter (ASCII bytes)."""
    return _unique_tokens(rng, n, HOUSEHOLD_TOKEN_LENGTH, BASE32_ALPHABET, BASE32_LETTERS)
