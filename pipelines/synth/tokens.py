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
) -> np.ndarray:
    symbols = rng.integers(0, alphabet.size, size=(n, length), dtype=np.int64)
    symbols[:, 0] = letters[0] + rng.integers(0, letters[1], size=n)
    chars = np.ascontiguousarray(alphabet[symbols])
    return chars.view(f"S{length}").ravel()


def _unique_tokens(
    rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray, letters: tuple[int, int]
) -> np.ndarray:
    tokens = _draw(rng, n, length, alphabet, letters)
    # 80 random bits make a collision vanishingly rare; redraw rather than assume.
    while np.unique(tokens).size < n:
        tokens = _draw(rng, n, length, alphabet, letters)
    return tokens


def person_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct lower-case hex person tokens starting with a letter (ASCII bytes)."""
    return _unique_tokens(rng, n, PERSON_TOKEN_LENGTH, HEX_ALPHABET, HEX_LETTERS)


def household_tokens(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct upper-case base32 household tokens starting with a letter (ASCII bytes)."""
    return _unique_tokens(rng, n, HOUSEHOLD_TOKEN_LENGTH, BASE32_ALPHABET, BASE32_LETTERS)
