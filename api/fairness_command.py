"""`safeguard audit fairness`: the fairness audit of a registered model on an extract.

Writes `fairness.json` and `fairness.html` (tables, interval plots and findings in plain
words) into a folder: both with every figure, for the governance board and the approval
gate (the page says it is not for publication), or with `--publication` both with small
counts suppressed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from data_contracts.cli import ExtractDate

if TYPE_CHECKING:
    from model.fairness_results import FairnessAudit
    from model.registry import ModelRegistry


def audit_fairness(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="Version number or alias.")],
    input: Annotated[Path, typer.Option("--input", help="Extract directory with outcomes.")],
    output: Annotated[Path, typer.Option("--output", help="Folder for fairness.json and .html.")],
    extract_date: ExtractDate = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Audit only the labelled referrals dated on "
                                 "or after this day (YYYY-MM-DD); families still span the "
                                 "whole extract; not recorded for approval.")
    ] = None,
    resamples: Annotated[
        int | None, typer.Option(max=10_000, help="Bootstrap resamples, at least 100; "
                                 "default: the settings' (fewer: not recorded for "
                                 "approval).")
    ] = None,
    publication: Annotated[
        bool, typer.Option("--publication", help="Suppress counts under the threshold, and "
                                                 "those giving one away, in the JSON and HTML.")
    ] = False,
    replace_approved: Annotated[
        bool, typer.Option("--replace-approved", help="Record the audit even though it "
                           "replaces the one a valid approval judged: the approval then no "
                           "longer holds, and a service serving the version stops serving it.")
    ] = False,
) -> None:
    """Audit a model's fairness on an extract's labelled referrals (JSON and HTML).

    Per-group rates with 95% bootstrap intervals, disparities against the largest group
    of each attribute, calibration, and groups too small to judge.
    """
    from api.admin import check_output_folder
    from api.templating import render_report
    from data_contracts import FeedRejected
    from data_contracts.cli import fail, parse_date_option
    from model.cli import cli_config, console, registry_from
    from model.fairness import AUDITED, FAIRNESS_HTML, FAIRNESS_JSON
    from model.fairness_report import fairness_files
    from model.fairness_summary import headline
    from model.governance import MIN_RESAMPLES
    from model.outcome_gaps import OUTCOME_GAPS, gap_warnings
    from model.registry import RegistryError
    from model.workflow import audit_extract

    if resamples is not None and resamples < MIN_RESAMPLES:
        fail(f"--resamples {resamples}: at least {MIN_RESAMPLES} (with fewer, each end of a "
             "95% interval rests on two or three resamples)")
    since_day = parse_date_option(since, "--since")
    config = cli_config(ctx)
    check_output_folder(output)  # before the work, which may take minutes
    registry = registry_from(config)
    try:
        with console.status("auditing fairness") as status:
            audit = audit_extract(input, registry=registry, reference=model,
                                  extract_date=parse_date_option(extract_date), n_boot=resamples,
                                  since=since_day, progress=lambda stage: status.update(stage))
    except (FeedRejected, RegistryError, ValueError) as exc:
        fail(str(exc))
    output.mkdir(parents=True, exist_ok=True)
    for name, text in fairness_files(audit, render_report, publication=publication).items():
        (output / name).write_text(text, encoding="utf-8")
    try:
        recorded, kept = _record_with_run(registry, audit, fairness_files(audit, render_report),
                                          replace_approved=replace_approved)
    except RegistryError as exc:
        fail(f"{exc}; the audit's files are in {output}, but the approval gate cannot judge "
             "it until it is recorded with the version: run the audit again")
    counts = audit.flag_counts()
    recording = audit.extra.get("recording")
    differing = ("" if recording is None else
                 f"; records per referral differ for {recording['differing']} group x agency "
                 "pairs")
    possible = audit.possible_counts()
    console.print(
        f"model version {audit.model_version}: {audit.n_labelled:,} labelled referrals, "
        f"{len(audit.groups)} groups, {len(audit.flagged())} flagged "
        f"({', '.join(f'{flag} {n}' for flag, n in counts.items() if n)}"
        f"{'; possible only: ' if any(possible.values()) else ''}"
        f"{', '.join(f'{flag} {n}' for flag, n in possible.items() if n)}): "
        f"{headline(audit)}{differing} -> {output / FAIRNESS_JSON}, {output / FAIRNESS_HTML}")
    covered = audit.extra.get(AUDITED) or {}
    if before := covered.get("before_test_period"):
        console.print(_before_test_period(before, covered), soft_wrap=True)
    for line in gap_warnings(audit.extra.get(OUTCOME_GAPS, []),
                             counted_as="they were audited as referrals without an outcome"):
        typer.echo(line, err=True)
    if kept:
        console.print(recorded, soft_wrap=True)
    else:
        typer.echo(recorded, err=True)


def _record_with_run(registry: ModelRegistry, audit: FairnessAudit, files: dict[str, str], *,
                     replace_approved: bool = False) -> tuple[str, bool]:
    """Record the audit, every figure kept, with the version's run (replacing the audit
    before it), where the approval gate reads it (`model.audit_acceptance`), when it may
    replace it (`model.audit_record`) and, for a version holding a valid approval, when
    asked to (`replace_approved`); what to say, and whether it was recorded."""
    import json

    from model.audit_record import not_recorded_reason
    from model.fairness import FAIRNESS_HTML, FAIRNESS_JSON
    from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT, EXTRACT_AUDIT_HTML_ARTIFACT

    info = registry.resolve(audit.model_version)
    before = registry.read_artifact(info.version, EXTRACT_AUDIT_ARTIFACT)
    reason = not_recorded_reason(json.loads(files[FAIRNESS_JSON]),
                                 None if before is None else json.loads(before))
    if reason is not None:
        return reason, False
    if not replace_approved and (approved := _approved(registry, info.version)):
        # An independent probe audited the served champion on a later extract for a
        # publication copy; the audit replaced the one its approval judged, and the
        # service stopped serving it, nothing said of either.
        return (f"not recorded for approval: version {info.version} holds a valid approval "
                f"({approved}){_aliases_said(info.aliases)}, which judged the audit recorded "
                "before; recording this one voids that approval, and a service serving the "
                "version stops serving it until a governance user approves it again: run "
                "again with --replace-approved to record it"), False
    registry.log_text(info.run_id, files[FAIRNESS_JSON], EXTRACT_AUDIT_ARTIFACT)
    registry.log_text(info.run_id, files[FAIRNESS_HTML], EXTRACT_AUDIT_HTML_ARTIFACT)
    return (f"recorded with version {info.version} as {EXTRACT_AUDIT_ARTIFACT} (every figure "
            "kept): its approval is judged on this audit, each finding beyond a fairness "
            "threshold waived by name (`audit_...`); any approval of it recorded before this "
            "audit no longer holds: a governance user approves it again "
            f"(`safeguard model approve {info.version}`)"), True


def _approved(registry: ModelRegistry, version: str) -> str | None:
    """Who approved ``version`` and when, if it holds a valid approval (the store's); None
    when it does not, or no store can say."""
    from api.version_standing import standings
    from model.version_list import APPROVED

    standing = standings(registry, [version], check_gate=True).get(version)
    return standing.detail if standing is not None and standing.status == APPROVED else None


def _aliases_said(aliases: tuple[str, ...]) -> str:
    return f" and the alias{'es' if len(aliases) > 1 else ''} {', '.join(aliases)}" if aliases \
        else ""


def _before_test_period(before: int, covered: dict[str, object]) -> str:
    """What referrals dated before the model's test period mean here: certainly learned
    from on its training extract (same fingerprint); on another extract, only if it comes
    from the same hub (a later extract holds the earlier referrals too)."""
    counted = (f"{before:,} of the audited referrals are dated before the model's test "
               f"period (from {covered['model_test_from']})")
    if covered.get("training_extract"):
        return (f"warning: this is the model's training extract: {counted}; it learned from "
                "their outcomes and its figures on them look better than on new referrals")
    if covered.get("training_extract") is False:
        return (f"note: {counted}. This is not the model's training extract (its fingerprint "
                "differs); if it comes from the same hub, it overlaps it, and the model "
                "learned from those referrals' outcomes")
    return (f"warning: {counted}: if this extract is, or overlaps, the training extract, the "
            "model learned from their outcomes and its figures on them look better than on "
            "new referrals")


def register(audit_app: typer.Typer) -> None:
    """Add `audit fairness` to the `audit` command group."""
    audit_app.command("fairness")(audit_fairness)
