"""Print the mutation score per module from mutmut's results (after `make mutation`).

Reads the ``mutants/<module>.py.meta`` files mutmut writes and prints, per module,
killed (a test failed or timed out) over checked mutants, the score, the survivors
and the mutants no selected test reaches, then the total. The survivors' names are
what `mutmut show NAME` takes; MUTATION.md gives the reason each one is acceptable.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "segfault", "caught by type check"}
ESCAPED = {"survived", "no tests", "suspicious"}


def module_results(meta: Path) -> dict[str, str]:
    """Status of each mutant of one module, by mutant name."""
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/: run `make mutation` first", file=sys.stderr)
        return 1
    total: Counter[str] = Counter()
    print(f"{'module':<32} {'killed':>7} {'checked':>8} {'score':>7} {'not run':>8}")
    for meta in metas:
        module = meta.relative_to(root).as_posix().removesuffix(".meta")
        statuses = module_results(meta)
        counts = Counter("killed" if s in KILLED else s for s in statuses.values())
        checked = counts["killed"] + sum(counts[s] for s in ESCAPED)
        total.update(counts)
        score = f"{100 * counts['killed'] / checked:.1f}%" if checked else "-"
        print(f"{module:<32} {counts['killed']:>7} {checked:>8} {score:>7} "
              f"{counts['not checked']:>8}")
        for name, status in sorted(statuses.items()):
            if status in ESCAPED:
                print(f"    {status}: {name}")
    checked = total["killed"] + sum(total[s] for s in ESCAPED)
    score = f"{100 * total['killed'] / checked:.1f}%" if checked else "-"
    print(f"{'total':<32} {total['killed']:>7} {checked:>8} {score:>7} "
          f"{total['not checked']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
