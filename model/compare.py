"""`safeguard model compare`: registered versions scored on the same referrals.

Each version's own test metrics (`safeguard model list`) come from its own extract and
test period, so two versions' figures there are not like for like. This scores every
version named on one extract's referrals with a complete follow-up, dated from the
latest of the versions' test periods (referrals none of them was trained on, when the
extract comes from the hub they were trained on), and reports each one's ROC AUC,
average precision, Brier score and ECE, with a paired bootstrap interval of each
version's ROC AUC difference from the first (a family's referrals drawn together,
`model.families`, as in the fairness audit): an interval that excludes 0 is a difference
larger than the noise of this many referrals.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from data_contracts.cli import ExtractDate, fail, parse_date_option
from data_contracts.vocab import LABEL_WINDOW_DAYS
from model.cli import cli_config, console, model_app, registry_from

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from model.registry import ModelRegistry
    from model.registry_records import LoadedModel

RESAMPLES: Final = 1_000
BLOCK: Final = 100  # resamples drawn and scored at once
METRICS: Final = ("roc_auc", "average_precision", "brier", "ece")


@dataclass(frozen=True)
class Difference:
    """A version's ROC AUC minus the first version's, with its paired 95% interval."""

    version: str
    against: str
    roc_auc: float
    low: float
    high: float

    @property
    def beyond_noise(self) -> bool:
        """Whether the interval excludes 0."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Comparison:
    """Versions scored on the same referrals of one extract."""

    extract_date: str
    referrals_from: str
    referrals: int
    outcomes: int
    metrics: dict[str, dict[str, float]]  # version -> measure -> value
    differences: list[Difference]
    warnings: list[str] = field(default_factory=list)  # each line begins note: or warning:

    def document(self) -> dict[str, Any]:
        """As JSON."""
        return asdict(self) | {"differences": [asdict(d) | {"beyond_noise": d.beyond_noise}
                                               for d in self.differences]}


def _test_from(loaded: LoadedModel) -> str | None:
    from model.monitoring_reference import METADATA_KEY

    return loaded.model.metadata.get(METADATA_KEY, {}).get("period", {}).get("from")


def _overlap_warnings(loaded: list[LoadedModel], fingerprint: str, start: pd.Timestamp,
                      dates: pd.Series) -> list[str]:
    """Which versions were trained on this very extract, and which may have learned from
    referrals in the window (dated before their test period)."""
    import pandas as pd

    found = []
    for each in loaded:
        version, test_from = each.info.version, _test_from(each)
        if each.model.metadata.get("extract_fingerprint") == fingerprint:
            held_out = test_from is not None and start >= pd.Timestamp(test_from)
            period = ("its test period is not recorded" if test_from is None else
                      f"its test period (from {test_from}) is "
                      f"{'held out' if held_out else 'not all that is compared'}")
            found.append(f"{'note' if held_out else 'warning'}: this is version {version}'s "
                         f"training extract; {period}")
        if test_from is not None and start < pd.Timestamp(test_from):
            before = int((dates < pd.Timestamp(test_from)).sum())
            if before:
                found.append(f"warning: {before:,} of the compared referrals are dated "
                             f"before version {version}'s test period (from {test_from}): "
                             "if this extract comes from the hub it was trained on, it "
                             "learned from their "
                             "outcomes and looks better on them than it is")
    return found


def paired_auc_interval(y: np.ndarray, first: np.ndarray, other: np.ndarray, *,
                        resamples: int = RESAMPLES, seed: int = 0,
                        clusters: np.ndarray | None = None) -> tuple[float, float]:
    """95% bootstrap interval of ROC AUC(other) - ROC AUC(first), the same referrals
    resampled for both (resamples with one class only are skipped).

    With `clusters` (a code 0..k-1 per referral: its family's, `model.families`) a
    family's referrals are drawn together, as the fairness audit draws them: they share
    record histories, and drawn apart they made the interval too narrow, a difference
    "larger than the noise" that a resample of whole families does not show.
    """
    import numpy as np

    from model.fairness_metrics import resample_counts, weighted_auc

    counts = resample_counts(len(y), n_boot=resamples, seed=seed, clusters=clusters)
    # A block of resamples at a time: weighted_auc copies its weights as float64 (all
    # 1,000 resamples of 20,000 referrals: 0.16 GB a copy).
    differences = np.concatenate([
        weighted_auc(y, other, counts[b:b + BLOCK]) - weighted_auc(y, first, counts[b:b + BLOCK])
        for b in range(0, resamples, BLOCK)])
    differences = differences[~np.isnan(differences)]  # resamples with one class only
    if not len(differences):  # every resample held one class: one or two outcomes in all
        return float("nan"), float("nan")
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)


def auc_differences(window: pd.DataFrame, measured: dict[str, dict[str, float]],
                    scores: dict[str, np.ndarray], *, resamples: int = RESAMPLES
                    ) -> list[Difference]:
    """Each version's ROC AUC difference from the first's (`scores`, in order, on the
    referrals of `window`, with their ``label``), with its paired interval: a family's
    referrals drawn together (`model.families`)."""
    import numpy as np

    from model.families import families_of

    y = window["label"].to_numpy(dtype=np.int64)
    families = families_of(window)
    (first, probability), *others = scores.items()
    return [Difference(version, first, measured[version]["roc_auc"] - measured[first]["roc_auc"],
                       *paired_auc_interval(y, probability, other, resamples=resamples,
                                            clusters=families))
            for version, other in others]


def _one_kind(y: np.ndarray, start: dt.date, extract_date: dt.date) -> str:
    """Why the window's labelled referrals cannot rank versions: there are none, or all
    had an outcome, or none had (a ROC AUC needs referrals of both kinds)."""
    window = (f"dated from {start} with a complete {LABEL_WINDOW_DAYS}-day follow-up at the "
              f"extract date ({extract_date})")
    if len(y) == 0:
        return f"no referral is {window}"
    which = f"all {len(y):,} referrals" if len(y) > 1 else "the one referral"
    return (f"{which} {window} had {'an outcome' if y.all() else 'no outcome'}: comparing "
            "needs some with an outcome and some without")


def compare_on_extract(input_dir: Path, *, registry: ModelRegistry, references: list[str],
                       extract_date: dt.date | None = None, since: dt.date | None = None,
                       resamples: int = RESAMPLES) -> Comparison:
    """Score each version on the extract's labelled referrals from the latest of their
    test periods (or `since`) and compare them.

    Raises:
        ValueError: The extract has no labelled referral in the window, or its labelled
            referrals all had an outcome or all had none.
    """
    import numpy as np
    import pandas as pd

    from model.data import prepare_extract
    from model.evaluate import classification_metrics
    from model.families import with_families
    from model.score import rate_table

    named = [registry.resolve(reference).version for reference in references]
    if twice := sorted({v for v in named if named.count(v) > 1}):
        raise ValueError(f"version {', '.join(twice)} is named more than once (an alias and "
                         "its number name the same version): name each version once")
    loaded = [registry.load(version) for version in named]
    prepared = prepare_extract(input_dir, extract_date=extract_date)
    assert prepared.labels is not None
    data = prepared.features.merge(prepared.labels, on="referral_id", how="left")
    data = with_families(data, prepared.features, prepared.members)
    starts = [pd.Timestamp(t) for each in loaded if (t := _test_from(each)) is not None]
    start = pd.Timestamp(since) if since else max(starts, default=pd.Timestamp.min)
    dates = pd.to_datetime(data["referral_date"])
    keep = data["follow_up_complete"].fillna(False).to_numpy(dtype=bool) & (dates >= start)
    window = data.loc[keep].reset_index(drop=True)
    y = window["label"].to_numpy(dtype=np.int64)
    if len(np.unique(y)) < 2:
        raise ValueError(f"{input_dir}: {_one_kind(y, start.date(), prepared.extract_date)}: "
                         "nothing to compare on")
    scores = {each.info.version: rate_table(each.model, window, model_version=each.info.version)
              ["probability"].to_numpy() for each in loaded}
    measured = {v: classification_metrics(y, p) for v, p in scores.items()}
    return Comparison(
        extract_date=prepared.extract_date.isoformat(), referrals_from=str(start.date()),
        referrals=len(y), outcomes=int(y.sum()),
        metrics={v: {k: measured[v][k] for k in METRICS} for v in scores},
        differences=auc_differences(window, measured, scores, resamples=resamples),
        warnings=_overlap_warnings(loaded, prepared.fingerprint, start,
                                   dates[keep].reset_index(drop=True)))


def verdict(difference: Difference) -> str:
    """A difference in words: which version is better, and whether beyond the noise."""
    better, worse = ((difference.version, difference.against) if difference.roc_auc > 0
                     else (difference.against, difference.version))
    if difference.low != difference.low:  # NaN: no resample held both classes
        return (f"versions {difference.version} and {difference.against} differ by ROC AUC "
                f"{difference.roc_auc:+.4f}: too few outcomes to judge the difference")
    if difference.beyond_noise:
        # Said from the better version's side: "-0.1647" beside "better" read as a loss.
        sign = 1.0 if better == difference.version else -1.0
        low, high = sorted((sign * difference.low, sign * difference.high))
        return (f"version {better} ranks referrals better than version {worse} (its ROC AUC "
                f"{sign * difference.roc_auc:.4f} higher, 95% interval {low:+.4f} to "
                f"{high:+.4f}): larger than the noise")
    return (f"versions {difference.version} and {difference.against} differ by ROC AUC "
            f"{difference.roc_auc:+.4f} (version {difference.version}'s minus version "
            f"{difference.against}'s, 95% interval {difference.low:+.4f} to "
            f"{difference.high:+.4f}): within the noise, neither is shown better")


@model_app.command("compare")
def compare_versions(
    ctx: typer.Context,
    versions: Annotated[list[str], typer.Argument(help="Two or more version numbers or "
                                                       "aliases; the first is the reference.")],
    input: Annotated[Path, typer.Option("--input", help="Extract directory with outcomes.")],
    output: Annotated[Path | None, typer.Option(help="Also write the comparison as JSON.")
                      ] = None,
    since: Annotated[str | None, typer.Option(
        help="Compare on referrals from this date (YYYY-MM-DD); default the latest of the "
             "versions' test periods.")] = None,
    extract_date: ExtractDate = None,
) -> None:
    """Score versions on the same referrals of one extract and say which ranks better."""
    from rich.table import Table

    from data_contracts import FeedRejected
    from model.registry import RegistryError

    if len(versions) < 2:
        fail("name two or more versions to compare")
    config = cli_config(ctx)
    try:
        with console.status("scoring the versions on the same referrals"):
            found = compare_on_extract(input, registry=registry_from(config), references=versions,
                                       extract_date=parse_date_option(extract_date),
                                       since=parse_date_option(since, "--since"))
    except (FeedRejected, RegistryError, ValueError) as exc:
        fail(str(exc))
    for line in found.warnings:
        typer.echo(line, err=True)
    table = Table(title=f"{found.referrals:,} referrals dated from {found.referrals_from} "
                        f"({found.outcomes:,} with the outcome), extract of {found.extract_date}")
    table.add_column("version")
    for name in ("ROC AUC", "avg precision", "Brier", "ECE"):
        table.add_column(name, justify="right")
    for version, measures in found.metrics.items():
        table.add_row(version, *(f"{measures[k]:.4f}" for k in METRICS))
    console.print(table)
    for difference in found.differences:
        console.print(verdict(difference), soft_wrap=True)
    if output is not None:
        output.write_text(json.dumps(found.document(), indent=1), encoding="utf-8")
        console.print(f"-> {output}")
