"""The benchmarks' shared record: one measured figure beside its reference, as JSON and Markdown.

Every benchmark script can write its figures with `--json PATH` (`add_json_argument`,
`write_figures`); `bench/suite.py` merges them into ``bench/results.json`` and renders
the table with `render_markdown`. A figure is only ever given beside a reference
measured in the same run (the straightforward implementation, the bare model, a bare
`python -c pass`), and the ratio of the two is the figure to compare between runs: on
a shared machine absolute times drift, ratios much less.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

COMPARISONS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
SIGNIFICANT: Final = 3


@dataclass(frozen=True)
class Target:
    """A goal for the figure's value (``of="value"``) or for its ratio (``of="ratio"``)."""

    op: str
    limit: float
    of: str = "value"

    def __post_init__(self) -> None:
        if self.op not in COMPARISONS:
            raise ValueError(f"target {self.op!r}: use one of {', '.join(COMPARISONS)}")
        if self.of not in ("value", "ratio"):
            raise ValueError(f"target of {self.of!r}: use 'value' or 'ratio'")

    def met(self, value: float, ratio: float) -> bool:
        return COMPARISONS[self.op](value if self.of == "value" else ratio, self.limit)

    def text(self, unit: str) -> str:
        if self.of == "ratio":
            return f"ratio {self.op} {self.limit:g}"
        return f"{self.op} {self.limit:g} {unit}".rstrip()


@dataclass(frozen=True)
class Figure:
    """One measured figure, its reference measured in the same run, and their ratio."""

    name: str
    value: float
    unit: str
    reference_name: str
    reference_value: float
    target: Target | None = None
    note: str = ""

    def __post_init__(self) -> None:
        for label, amount in (("value", self.value), ("reference", self.reference_value)):
            if not math.isfinite(amount):
                raise ValueError(f"{self.name}: the {label} {amount!r} is not a finite number")
        if self.reference_value == 0:
            raise ValueError(f"{self.name}: the reference {self.reference_name!r} measured 0, "
                             "so there is no ratio")

    @property
    def ratio(self) -> float:
        """The figure over its reference."""
        return self.value / self.reference_value

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None without a target."""
        return None if self.target is None else self.target.met(self.value, self.ratio)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Figure:
        fields = {k: data[k] for k in ("name", "value", "unit", "reference_name",
                                        "reference_value")}
        target = Target(**data["target"]) if data.get("target") else None
        return cls(**fields, target=target, note=data.get("note", ""))


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """The `--json PATH` option every benchmark script takes."""
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures, each beside its reference, as JSON here")


def write_figures(path: Path | None, script: str, figures: Iterable[Figure],
                  facts: Mapping[str, Any] | None = None) -> None:
    """Write a script's figures (and facts about its run: sizes, settings) to `path`."""
    if path is None:
        return
    document = {"script": script, "figures": [f.to_json() for f in figures],
                "facts": dict(facts or {})}
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def number(value: float) -> str:
    """A figure for people: three significant digits, thousands separated."""
    if value == 0 or not math.isfinite(value):
        return str(value)
    digits = max(SIGNIFICANT - 1 - math.floor(math.log10(abs(value))), 0)
    return f"{round(value, digits):,.{digits}f}"


def _row(script: str, figure: Figure, judge: bool) -> list[str]:
    target = "" if figure.target is None else figure.target.text(figure.unit)
    if judge and figure.met is not None:
        target += " met" if figure.met else " **missed**"
    value = f"{number(figure.value)} {figure.unit}".rstrip()
    reference = f"{figure.reference_name}: {number(figure.reference_value)} {figure.unit}"
    return [script, figure.name + (f" ({figure.note})" if figure.note else ""), value,
            reference.rstrip(), f"{number(figure.ratio)} x", target.strip()]


def table(rows: Iterable[list[str]], header: list[str]) -> str:
    """A Markdown table; pipes inside cells are escaped."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in line) + " |"
                     for line in lines)


def render_markdown(results: Mapping[str, Any]) -> str:
    """The suite's results (as `bench/suite.py` writes them) as a Markdown section body."""
    meta = results["meta"]
    machine = meta["machine"]
    load = " / ".join(f"{x:.1f}" for x in meta["load_average_before"])
    after = " / ".join(f"{x:.1f}" for x in meta["load_average_after"])
    quick = (" (quick mode: smaller sizes, fewer rounds; the targets, set for the stated "
             "sizes, are not judged)") if meta["quick"] else ""
    lines = [
        f"Measured {meta['date']} on commit `{meta['commit']}` by `{meta['command']}`{quick}, "
        f"in {meta['seconds']:.0f} s (the scripts' CPU {meta['cpu_seconds']:.0f} s, Spark's JVM "
        f"not counted; lanes {meta['lanes']}). Machine: {machine['nproc']} CPUs "
        f"({machine['cpu']}), "
        f"{machine['memory_gib']:.1f} GiB memory; load average (1 / 5 / 15 min) {load} "
        f"before and {after} after. Each figure stands beside its reference, measured in "
        "the same run; the ratio is figure / reference.", ""]
    rows = [_row(name, Figure.from_json(f), not meta["quick"])
            for name, script in results["scripts"].items() for f in script["figures"]]
    lines.append(table(rows, ["benchmark", "figure", "value", "reference", "ratio", "target"]))
    failed = {name: s["error"] for name, s in results["scripts"].items() if s.get("error")}
    if failed:
        lines += ["", "Failed: " + "; ".join(f"`{n}`: {e}" for n, e in failed.items())]
    facts = [f"`{name}`: " + ", ".join(f"{k} {_fact(v)}" for k, v in s["facts"].items())
             for name, s in results["scripts"].items() if s.get("facts")]
    if facts:
        lines += ["", "Sizes and settings of each benchmark:", ""]
        lines += [f"- {fact}" for fact in facts]
    return "\n".join(lines) + "\n"


def _fact(value: Any) -> str:
    return number(value) if isinstance(value, float) else str(value)
