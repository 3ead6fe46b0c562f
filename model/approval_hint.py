"""What `safeguard train` says a governance user runs next for a new version: its card,
an approval as it will be accepted (each missed acceptance threshold waived by name, or the
version rejected), then the promotion (a hint of `safeguard model approve N` alone failed
as written: `--reason` is required, and a waiver for each missed threshold)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.governance import AcceptanceThresholds
    from model.registry import ModelRegistry


def fairness_line(fairness: dict[str, Any] | None, version: str = "N") -> str:
    """What the fairness audit of the test period found, as sentences (with a space
    after): its headline, the groups too small to judge there but far from their
    prediction (`model.small_groups`), and the audit of the whole extract to run."""
    from model.fairness_report import audit_from_document
    from model.fairness_summary import headline
    from model.small_groups import small_groups_apart

    whole = (f"Before approval, audit the whole extract: `safeguard audit fairness --model "
             f"{version} --input DIR --output DIR` (the test period holds a fifth of the "
             "referrals, and groups too small to judge there may be judged on the whole). ")
    if fairness is None:
        return "No fairness audit recorded. " + whole
    apart = len(small_groups_apart(fairness))
    small = (f"{apart} group{'s' * (apart != 1)} too small to judge there "
             f"{'have' if apart != 1 else 'has'} an observed outcome rate whose exact 95% "
             "interval leaves the model's prediction out (named on the card). " if apart else "")
    return (f"Fairness audit of the test period: {headline(audit_from_document(fairness))}. "
            f"{small}{whole}")


def approval_hint(registry: ModelRegistry, version: str, *,
                  board: AcceptanceThresholds | None) -> str:
    """What a governance user runs next: an approval as it will be accepted (each missed
    acceptance threshold waived by name, judged against `board` as the gate judges it),
    then the promotion."""
    from model.acceptance import unmet
    from model.audit_acceptance import AUDIT_PREFIX, FAIRNESS_AUDIT_RECORDED
    from model.card import acceptance_checks
    from model.card_sources import read_sources

    sources = read_sources(registry, version)
    checks = acceptance_checks(sources, board=board)
    # Never audited on an extract: the audit above is run first, not waived (the hint
    # said to audit, then offered `--waive "fairness_audit_recorded=..."` to copy).
    missed = [c for c in unmet(checks) if c.name != FAIRNESS_AUDIT_RECORDED]
    audit_first = len(missed) < len(unmet(checks))
    waivers = "".join(f' --waive "{check.name}=..."' for check in missed)
    misses = (f"; it misses {len(missed)} acceptance threshold{'s' * (len(missed) > 1)}, "
              "each waived by name with its own reason or the version rejected "
              f"(`safeguard model reject {version} --reason \"...\"`)" if missed else "")
    if audit_first:
        misses += (f"; a finding of the audit beyond a fairness threshold is waived the same "
                   f"way (`{AUDIT_PREFIX}...`, named by the refusal)")
    possible = sum(len(check.possible) for check in checks)
    if possible:
        misses += (f"; {possible} group figure{'s' * (possible > 1)} beyond a threshold on "
                   f"the point estimate {'are' if possible > 1 else 'is'} not "
                   f"{'findings' if possible > 1 else 'a finding'} of the audit (it cannot "
                   f"tell {'them' if possible > 1 else 'it'} from chance): counted against no "
                   "threshold, no waiver needed")
    return (f"{fairness_line(sources.fairness, version)}"
            f"A governance user reads its card (`safeguard model card {version} --output DIR`) "
            f"{'and, once that audit is recorded, ' if audit_first else 'and '}"
            f'approves it: `safeguard model approve {version} --reason "..."{waivers}`'
            f"{misses}; then `safeguard model promote {version}` serves it.")


def promotion_hint(reference: str, *, served_alias: str) -> str:
    """What to run when no version has the number or alias `reference` (as `model check`
    says it): an alias is pointed at an approved version by a promotion."""
    from model.registry_sqlite import looks_numeric, version_number

    listing = "`safeguard model list` shows the versions"
    if version_number(reference) is not None or looks_numeric(reference):
        return f"{listing}."
    alias = "" if reference == served_alias else f" --alias {reference}"
    return (f"no version has that alias yet: once a version is approved, "
            f"`safeguard model promote VERSION{alias}` points it there ({listing}).")


def refusal_line(exc: Exception, reference: str, *, served_alias: str) -> str:
    """A command's one-line refusal: the error, and, when `reference` names no version,
    what to run (`promotion_hint`)."""
    from model.registry import NoSuchVersion

    if not isinstance(exc, NoSuchVersion):
        return str(exc)
    return f"{exc}; {promotion_hint(reference, served_alias=served_alias)}"
