"""The realism report printed by ``safeguard synth --realism-report``."""

from __future__ import annotations

from rich.console import Console

from pipelines.synth.anchors import GROUP_CHECK_REFERRALS, TOLERANCE
from pipelines.synth.config import SynthConfig
from pipelines.synth.model import SyntheticData
from pipelines.synth.realism import (
    group_counts,
    groups_large_enough,
    groups_table,
    realism_rows,
    realism_table,
    true_probability_auc,
)

REPORT_WIDTH = 110  # wide enough for every figure's label on one line
AUC_RANGE = (0.75, 0.85)  # the published range of real tools


def print_realism_report(data: SyntheticData, config: SynthConfig, console: Console) -> bool:
    """Print figures, group sizes and the truth's AUC; True when everything is within bounds."""
    rows = realism_rows(data)
    title = (f"Published figures and the generator's ({config.n_referrals:,} referrals, "
             f"seed {config.seed})")
    console = Console(file=console.file, width=max(console.width, REPORT_WIDTH))
    console.print(realism_table(rows, title))
    counts = group_counts(data)
    console.print(groups_table(counts, config.n_referrals))
    auc = true_probability_auc(data)
    console.print(f"true-probability ROC AUC (follow-up complete): {auc:.3f} (target 0.75-0.85)")
    outside = [row.anchor.label for row in rows if not row.within]
    groups_ok = groups_large_enough(counts, config.n_referrals)
    auc_ok = AUC_RANGE[0] <= auc <= AUC_RANGE[1]
    if outside:
        console.print(f"[red]outside {TOLERANCE:.0%}:[/red] {', '.join(outside)}")
    if not groups_ok:
        console.print(f"[red]a group has fewer than 300 labelled referrals at "
                      f"{GROUP_CHECK_REFERRALS:,}+ referrals[/red]")
    if not auc_ok:
        console.print("[red]the true-probability AUC is outside 0.75-0.85[/red]")
    return not outside and groups_ok and auc_ok
