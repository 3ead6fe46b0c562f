"""The words and tables of the fairness report's "what the model saw about each group"
(`model.fairness_recording` computes the section; this reads it for people)."""

from __future__ import annotations

from typing import Any

import numpy as np

from data_contracts.vocab import AGENCY_LABELS
from model.fairness_groups import ATTRIBUTE_LABELS, group_phrase, value_label
from model.fairness_summary import times_phrase


def recording_context(section: dict[str, Any], minimum: int) -> dict[str, Any]:
    """What the report shows of the section: a table per characteristic (a row per group,
    a column per agency), a sentence per difference (each group's strongest first, see
    `_each_group_first`; naming both groups), and the agencies the largest group holds
    fewer than `minimum` records from, too few to compare with."""
    agencies = list(section["agencies"])
    references = {(r["attribute"], r["agency"]): r for r in section["rows"]
                  if r["is_reference"]}
    tables = []
    for attribute in section["attributes"]:
        cells = {(r["group"], r["agency"]): r for r in section["rows"]
                 if r["attribute"] == attribute}
        groups = list(dict.fromkeys(group for group, _ in cells))
        tables.append({"id": f"recording-{attribute}".replace("_", "-"),
                       "title": ATTRIBUTE_LABELS[attribute],
                       "rows": [{"label": value_label(group),
                                 "is_reference": cells[(group, agencies[0])]["is_reference"],
                                 "cells": [_cell(cells[(group, a)], minimum) for a in agencies]}
                                for group in groups]})
    # Missing information first: a group large enough to judge that the agency told the
    # model (almost) nothing about, most records expected first.
    missing = sorted((r for r in section["rows"] if r["differs"] and r.get("few_records")),
                     key=lambda r: -(r["expected_records"] or 0))
    stated = sorted((r for r in section["rows"] if r["differs"] and not r.get("few_records")
                     and r["ratio_ci"] is not None), key=lambda r: -abs(np.log(r["ratio"])))
    # Audits before 6 December compared crude rates.
    age_for_age = ", age for age" if section.get("standardisation") else ""
    few = [f"{AGENCY_LABELS[agency]} by {mid_sentence(ATTRIBUTE_LABELS[attribute])}"
           for (attribute, agency), r in references.items()
           if r["records"] is None or r["records"] < minimum]
    return {"agencies": [AGENCY_LABELS[a] for a in agencies], "tables": tables,
            "sentences": [
                (_missing_sentence(r, references[(r["attribute"], r["agency"])], minimum,
                                   age_for_age) if r.get("few_records") else
                 _recording_sentence(r, references[(r["attribute"], r["agency"])], age_for_age))
                for r in _each_group_first(missing, stated)],
            "not_compared": few, "measure": section["measure"],
            "standardisation": section.get("standardisation")}


def _each_group_first(missing: list[dict[str, Any]], stated: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
    """The rows in rounds: every group's strongest difference, then every group's second...,
    each round in the order given (missing information first, then by strength).

    The card lists the first ten: strongest first alone, one characteristic whose groups
    differ at every agency (deprivation: need follows it) filled them, and an agency
    recording half as much about one ethnic group, found by the audit, never reached it.
    """
    rounds: dict[tuple[str, str], int] = {}
    ranked = []
    for order, row in enumerate([*missing, *stated]):
        key = (row["attribute"], row["group"])
        rounds[key] = rounds.get(key, -1) + 1
        ranked.append((rounds[key], order, row))
    ranked.sort(key=lambda item: item[:2])
    return [row for _, _, row in ranked]


def mid_sentence(label: str) -> str:
    """A label inside a sentence: its first letter lower-cased, acronyms kept (IMD)."""
    return label[:1].lower() + label[1:]


def _recording_sentence(row: dict[str, Any], reference: dict[str, Any], age_for_age: str) -> str:
    attribute, (low, high) = row["attribute"], row["ratio_ci"]
    return (f"{AGENCY_LABELS[row['agency']]}: {group_phrase({attribute: row['group']})} had "
            f"{times_phrase(row['ratio'])} the records per referral of "
            f"{group_phrase({attribute: reference['group']})}{age_for_age} (95% interval "
            f"{low:.2f} to {high:.2f}).")


def _missing_sentence(row: dict[str, Any], reference: dict[str, Any], minimum: int,
                      age_for_age: str) -> str:
    held = "no records" if row["records"] == 0 else f"fewer than {minimum} records"
    about = f"{row['n']:,} referrals" if row["n"] is not None else "its referrals"
    # Withheld in publication with the group's size (it would give the size back).
    expected = ("more" if row["expected_records"] is None
                else f"about {row['expected_records']:,.0f}")
    return (f"{AGENCY_LABELS[row['agency']]}: the model saw {held} from the agency about "
            f"{group_phrase({row['attribute']: row['group']})} ({about}), where the rate of "
            f"{group_phrase({row['attribute']: reference['group']})}{age_for_age}, would lead "
            f"one to expect {expected}: missing information (their scores rest "
            "on less than other groups' do).")


def _cell(row: dict[str, Any], minimum: int) -> dict[str, Any]:
    if row.get("few_records") and row["differs"]:
        held = "none" if row["records"] == 0 else f"under {minimum} records"
        return {"value": held, "ratio": "", "differs": True}
    if row["records_per_referral"] is None:
        return {"value": "-", "ratio": "", "differs": False}
    ratio = "" if row["is_reference"] or row["ratio"] is None else f"x{row['ratio']:.2f}"
    value = row["records_per_referral"]
    return {"value": f"{value:.2f}" if value >= 0.1 else f"{value:.3f}", "ratio": ratio,
            "differs": row["differs"]}
