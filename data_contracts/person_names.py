"""Personal names under a heading that does not say so (`carer`, `contact`, `worker`),
found by how the cells are written.

The specification forbids names in any feed. A column named as one (`surname`,
`child_name`) is refused by its name (`data_contracts.identifier_names`); a column the
specification does not name, and its free-text column (a referral id), is also read for
names by content here (`data_contracts.identifiers` refuses the feed). The columns the
specification names otherwise (tokens, dates, codes, numbers) are not read for names.

A cell is written as a name when the whole cell (blanks at either end trimmed) is two or
three words, each a capital letter, then letters, hyphens or apostrophes, ending in a
letter (``Jane Smith``, ``Mary-Ann O'Neil``, ``JOHN BROWN``, ``Zoë Nowak``), the first
maybe followed by a comma (``Smith, Jane``), with an initial first or in the middle
(``J Smith``, ``Jane A. Smith``); and no word of it is one of :data:`SERVICE_WORDS`, words
of a team's, service's or organisation's name that no person's name holds (``Children
Services``, ``Early Help Team``, ``Metropolitan Police``). A code, date, number, token or
yes/no flag, a single word, an initial last (``Category B``), lower-case text or text with
digits or other punctuation is never written as a name.

A column holds names when cells written as one are a clear majority of its non-empty
cells (:data:`NAME_SHARE`) and at least :data:`MIN_NAMES` of them (every one when it has
fewer), measured on the sample `data_contracts.identifiers` reads. A column not in the
specification is never loaded nor copied to a quarantine file either way.

Honest about mistakes: words of case-work labels and places are among those words too
(``No Further Action``, ``Strategy Meeting``, ``West Yorkshire`` are not names, and so a
``John West`` among names is not counted), but a column of labels of two or three
capitalised words with none of them (``Leeds Bradford``, ``Tower Hamlets``) is read as
names and refuses its feed; the hub does not read that column, so the agency leaves it out. A
column of names mostly written otherwise (``Jane``, ``SMITH J``, ``Mother``, lower case)
is not refused.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.identifier_names import ORGANISATION_WORDS

NAME_SHARE: Final = 0.6  # of a column's non-empty cells
MIN_NAMES: Final = 3  # cells written as a name (or every non-empty cell, when fewer)

# Beyond the words that make a column's name an organisation's (`agency_name`), words of
# a team's, service's or organisation's name that no person's name holds.
SERVICE_WORDS: Final = ORGANISATION_WORDS | frozenset(
    {
        "police", "constabulary", "nhs", "health", "healthcare", "care", "social",
        "children", "childrens", "youth", "family", "families", "adult", "adults", "people",
        "help", "support", "housing", "education", "probation", "offending", "community",
        "safeguarding", "hub", "mash", "centre", "center", "group", "partnership", "board",
        "panel", "borough", "city", "county", "district", "ltd", "limited", "plc",
    }
) | frozenset(
    {   # Words of a case-work label or a place, seldom a person's name: an extra column of
        # outcomes ("No Further Action") or areas ("West Yorkshire") is no list of people.
        "no", "not", "none", "yes", "other", "unknown", "known", "further", "action",
        "meeting", "strategy", "plan", "assessment", "case", "referral", "contact", "risk",
        "level", "high", "medium", "low", "new", "open", "closed", "north", "south", "east",
        "west", "central", "greater", "upper", "lower", "area", "region", "ward", "division",
    }
)  # fmt: skip

_WORD: Final = r"\p{Lu}[\p{L}'’-]*\p{L}"
_INITIAL: Final = r"\p{Lu}\.?"
_NAME: Final = (rf"^(?:{_INITIAL} +{_WORD}|{_WORD},? +(?:(?:{_WORD}|{_INITIAL}) +)?{_WORD})$")
_SERVICE: Final = r"(?i)\b(?:" + "|".join(sorted(SERVICE_WORDS)) + r")\b"


def _match(cells: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(cells, pattern).to_numpy(zero_copy_only=False).astype(bool)


def written_as_names(cells: pa.Array) -> np.ndarray:
    """Mask of the (stripped) cells written as a person's name."""
    return _match(cells, _NAME) & ~_match(cells, _SERVICE)


def holds_personal_names(cells: pa.Array) -> str | None:
    """What a column's cells say of names, or None when it holds none.

    Args:
        cells: The column's non-empty cells, stripped (or an even sample of them).
    """
    # Every name holds a space: a column of codes, dates, numbers or tokens is ruled out
    # by one search for it (a column of 100,000 referral ids: about a millisecond).
    if len(cells) == 0 or not pc.any(pc.match_substring(cells, " ")).as_py():
        return None
    distinct = pc.value_counts(cells)  # each pattern runs once per distinct cell
    named = written_as_names(distinct.field("values"))
    hits = int(distinct.field("counts").to_numpy()[named].sum())
    if hits < min(MIN_NAMES, len(cells)) or hits < NAME_SHARE * len(cells):
        return None
    return (f"personal names: {hits / len(cells):.0%} of its non-empty cells are two or three "
            "capitalised words, as a name is written")
