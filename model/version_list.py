"""`safeguard model list`: the registered versions, what each one's test metrics were
measured on, where each stands with governance, and whether this release may serve it
(the feature manifest it was trained on, `model.trained_manifest`).

Each version's test metrics come from its own test referrals: versions trained on
different extracts are not measured on the same referrals, so the table names each
version's training extract and test period beside its figures, and says how to compare
versions on one extract (`safeguard model compare`). The approval standing comes from
the service's store, read by the layer above (`ConfigSource.standings`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final

import typer
from rich.console import Console
from rich.table import Table

from model.cli import UNKNOWN, ConfigSource, cli_config, console, model_app, registry_from

if TYPE_CHECKING:
    from model.registry import ModelRegistry

APPROVED: Final = "approved"
AWAITING: Final = "awaiting approval"  # no decision recorded yet
NOT_VALID: Final = "approval not valid"  # approved, but the gate refuses it (`detail`: why)
FOR_TESTING: Final = "its scores are for testing, not for triage"
OTHER_MANIFEST: Final = "trained on another feature manifest"  # `model.trained_manifest`
METRICS: Final = ("test_roc_auc", "test_average_precision", "test_brier", "test_ece",
                  "baseline_roc_auc")


@dataclass(frozen=True)
class Standing:
    """What governance decided about a version, as the store holds it."""

    status: str  # approved, rejected, awaiting approval, approval not valid, unknown
    detail: str = ""  # who decided and when; why an approval is not valid
    warning: str | None = None  # a rejection in one line, for a command about to use it

    def cell(self) -> str:
        """As a table cell."""
        return f"{self.status} ({self.detail})" if self.detail else self.status

    def use_warning(self, version: str) -> str | None:
        """The line a command about to score with the version says on standard error (None
        when it is approved): rejected, awaiting approval, approval not valid, or unknown."""
        if self.warning:
            return self.warning
        if self.status == AWAITING:
            return f"warning: version {version} is awaiting approval: {FOR_TESTING}"
        if self.status == NOT_VALID:
            return (f"warning: the approval of version {version} is not valid: {FOR_TESTING} "
                    f"({self.detail})")
        if self.status == UNKNOWN:
            return (f"warning: whether governance approved version {version} is not known: "
                    f"{self.detail}")
        return None


def _aliases(aliases: tuple[str, ...], served: str, standing: Standing | None, *,
             unservable: bool = False) -> str:
    """The aliases; the served one marked when its version may not be served (`unservable`:
    trained on another feature manifest than this release builds)."""
    why = (OTHER_MANIFEST if unservable
           else None if standing is None or standing.status in (APPROVED, UNKNOWN)
           else standing.status)  # unknown: say nothing
    if why is None:
        return ", ".join(aliases) or "-"
    return ", ".join(f"{a} (not served: {why})" if a == served else a for a in aliases) or "-"


def _manifest(registry: ModelRegistry, version: str) -> tuple[str, str | None]:
    """The version's feature manifest as a table cell, and why this release may not serve
    it (None: it may); `model.trained_manifest` reads it as a load does."""
    from model.registry import RegistryError
    from model.trained_manifest import manifest_problem, trained_manifest

    try:
        trained = trained_manifest(partial(registry.read_artifact, version))
    except RegistryError:  # its run's files are missing: the list's warning says so
        return "files missing", None
    problem = manifest_problem(version, trained)
    cell = "not recorded" if trained is None else str(trained)
    return (cell, None) if problem is None else (f"{cell} (not servable)", problem)


@model_app.command("list")
def list_models(ctx: typer.Context) -> None:
    """Registered versions: aliases, approval, training extract, test period and test metrics."""
    from model.provenance import provenance

    config = cli_config(ctx)
    registry = registry_from(config)
    versions = registry.list_versions()
    if not versions:
        console.print(f"no versions of {config.model_name!r} are registered yet; "
                      "run `safeguard train`")
        return
    source = ctx.find_object(ConfigSource)
    standings = (source.standings(registry, [v.version for v in versions], check_gate=True)
                 if source is not None and source.standings is not None else {})
    table = Table(title=f"{config.model_name}")
    for column in ("version", "aliases", "approval", "feature manifest", "registered (UTC)",
                   "training extract", "test referrals", "ROC AUC", "avg precision", "Brier",
                   "ECE", "baseline AUC"):
        table.add_column(column)
    extracts, missing, unservable = set(), [], []
    for v in versions:
        created = dt.datetime.fromtimestamp(v.created_at / 1000, dt.UTC)
        where = provenance(registry, v.version)
        extracts.add(where.fingerprint)
        missing += [where.missing] if where.missing else []
        manifest, problem = _manifest(registry, v.version)
        unservable += [problem] if problem else []
        standing = standings.get(v.version)
        table.add_row(v.version,
                      _aliases(v.aliases, config.alias, standing, unservable=bool(problem)),
                      standing.cell() if standing else "not recorded", manifest,
                      created.strftime("%Y-%m-%d %H:%M"), where.extract(), where.test_period(),
                      *(f"{v.metrics[k]:.4f}" if k in v.metrics else "-" for k in METRICS))
    # Piped, the console is 80 columns wide and would cut cells ("champi…"): as wide as
    # the table needs instead.
    wide = console if console.is_terminal else Console(width=1_000)
    wide.print(table)
    if len(extracts) > 1:
        wide.print("Each version's test metrics are on its own test referrals, from different "
                   "extracts here: not like for like. `safeguard model compare V1 V2 --input "
                   "DIR` scores versions on the same referrals.")
    for reason in missing:
        wide.print(f"warning: {reason}: its card, checks and scoring fail until it is back",
                   soft_wrap=True)
    for reason in unservable:
        wide.print(f"not servable: {reason}", soft_wrap=True)
