"""`safeguard model approve|reject|card`: a governance board's commands.

`approve` and `reject` act as a governance user: the API key is read from a file
(`--key-file`) or the `SAFEGUARD_API_KEY` environment variable, never from the command
line (where it would stay in the shell's history and the process list). The command
checks the key and the role against the store exactly as the API does
(`api.auth.authenticate_key`) and records the decision with the same function as
`POST /v1/models/{version}/approvals` (`api.approvals.record_decision`). It works on
the store directly rather than through HTTP so that a board can approve a version
before any service runs (as `make demo` does) and needs no address of one; the rules
and the audit entries are the same either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Final

import typer

from data_contracts.cli import fail

KEY_ENV: Final = "SAFEGUARD_API_KEY"

KeyFileOption = Annotated[Path | None, typer.Option(
    "--key-file", help=f"File holding a governance user's API key (else ${KEY_ENV}).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why: recorded and audited.")]
VersionArgument = Annotated[str, typer.Argument(help="Version number.")]
# What an approval covers is `api.approval_content`'s to say (`model.card_sources.
# RECORDED_FILES`); importing it to build this help would take seconds, so the files are
# named here and a test holds the two to one list. (Lines unbroken: the help keeps breaks.)
APPROVE_HELP: Final = (
    "Approve a version's exact content as a governance user, waiving by name, with a "
    "reason, every acceptance threshold it misses."
    "\n\n"
    "The approval names the SHA-256 of the version's model folder and of each file of its "
    "run that its model card and acceptance checks read, with the cards logged at training "
    "(risk_model/risk_model.json, evaluation/training_report.json, "
    "evaluation/rates_by_band.csv, evaluation/rates_by_score.csv, "
    "explanations/mean_abs_shap_by_factor.csv, explanations/mean_abs_shap_by_agency.csv, "
    "evaluation/calibration.png, fairness/fairness.json, card/model_card.html, "
    "card/model_card.md, and the latest fairness audit of an extract, "
    "fairness_audit/fairness.json), and of the run's metrics and parameters: once any of them "
    "changes, the approval no longer holds.")


def _read_key(key_file: Path | None) -> str:
    if key_file is not None:
        try:
            return key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            fail(f"cannot read the key file {key_file}: {exc.strerror}")
    key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        fail(f"a governance user's API key is needed: --key-file FILE or ${KEY_ENV}")
    return key


def _waivers(items: list[str]) -> dict[str, str]:
    from api.approvals import ApprovalRefused, one_waiver_each

    pairs = []
    for item in items:
        name, sep, reason = item.partition("=")
        if not sep or not name.strip() or not reason.strip():
            fail(f"--waive {item!r}: expected THRESHOLD=REASON")
        pairs.append((name.strip(), reason.strip()))
    try:
        return one_waiver_each(pairs)
    except ApprovalRefused as exc:
        fail(f"--waive: {exc}")


def _decide(version: str, decision: str, reason: str, waivers: dict[str, str],
            key_file: Path | None) -> None:
    from api.access_refusals import command_refusal_event
    from api.admin import open_store
    from api.api_keys import KeyHasher
    from api.approvals import ApprovalRefused, record_decision
    from api.audit import store_with_audit
    from api.auth import authenticate_key
    from api.model_commands import _registry, board_of
    from api.roles import GOVERNANCE
    from model.registry import RegistryError

    key = _read_key(key_file)
    # The store with the audit chain's anchor, as the API's: its entries are signed.
    settings, store = open_store("the decision is recorded and audited there")
    try:
        user = authenticate_key(store, KeyHasher(settings.api_key_pepper.get_secret_value()), key)
        if user is None:
            fail("the API key is missing, invalid or revoked")
        if user.role != GOVERNANCE:  # audited, as the API's refusal of the same act
            store_with_audit(store.engine, [command_refusal_event(
                user, (GOVERNANCE,), command=f"model {decision}", version=version)])
            fail(f"role {user.role!r} may not approve or reject a model version; "
                 "a governance user's key is needed")
        with store.session() as session:
            row = record_decision(session, _registry(settings), user=user.name, role=user.role,
                                  version=version, decision=decision, reason=reason,
                                  waivers=waivers, board=board_of(settings))
            done = "approved" if decision == "approve" else "rejected"
            summary = "\n".join([
                f"{row.model_name} version {row.model_version} {done} by {row.user_name}: "
                f"{row.reason}",
                *(f"  waived {name}: {why}" for name, why in sorted(row.waivers.items()))])
    except (ApprovalRefused, RegistryError) as exc:  # a refusal: one line per threshold unmet
        fail(str(exc), lines=isinstance(exc, ApprovalRefused))
    finally:
        store.dispose()
    typer.echo(summary)


def approve(
    version: VersionArgument,
    reason: ReasonOption,
    waive: Annotated[list[str] | None, typer.Option(
        "--waive", help="THRESHOLD=REASON: waive a threshold the version does not meet.")] = None,
    key_file: KeyFileOption = None,
) -> None:
    """Approve a version's exact content as a governance user (`APPROVE_HELP`)."""
    _decide(version, "approve", reason, _waivers(waive or []), key_file)


def reject(version: VersionArgument, reason: ReasonOption, key_file: KeyFileOption = None
           ) -> None:
    """Reject a version as a governance user: it cannot be promoted until approved again."""
    _decide(version, "reject", reason, {}, key_file)


def card(
    version: VersionArgument,
    output: Annotated[Path, typer.Option("--output", help="Folder for the card's files.")],
    log: Annotated[bool, typer.Option(
        "--log", help="Also log the card with the version's run, when it has none yet.")] = False,
) -> None:
    """Write a version's model card (model_card.html, model_card.md) with its approvals."""
    from api.approval_history import approval_history
    from api.model_card import card_for, log_card, write_card
    from api.model_commands import _registry, board_of
    from api.settings import Settings
    from api.version_standing import existing_store
    from model.card_sources import CARD_HTML_ARTIFACT
    from model.registry import RegistryError

    settings = Settings()
    # No SQLite file: no store, so nothing recorded (and none created by reading it).
    registry, store = _registry(settings), existing_store(settings)
    board = board_of(settings)  # the card's checks, as the gate judges them
    try:
        info = registry.resolve(version)
        history = []
        if store is not None:
            # A store that cannot be read is refused, not read as empty: the card said
            # "No approval or rejection has been recorded" of an approved version.
            reachable, reason = store.ping()
            if not reachable:
                fail(f"cannot read the approval history of version {info.version}: {reason}; "
                     "start the database, or create its schema with `safeguard db upgrade`")
            with store.session() as session:
                history = approval_history(session, registry, info.version, board=board)
        if log and registry.read_artifact(info.version, CARD_HTML_ARTIFACT) is None:
            log_card(registry, info, board=board)
            typer.echo(f"model card logged with the run of version {info.version}")
        elif log:
            fail(f"version {info.version} already has a card logged (approvals name it); "
                 "it is never replaced")
        written = write_card(card_for(registry, info.version, history, board=board), output)
    except RegistryError as exc:
        fail(str(exc))
    finally:
        if store is not None:
            store.dispose()
    typer.echo(f"model card of version {info.version}: " + ", ".join(map(str, written)))


def register(model_app: typer.Typer) -> None:
    """Add `approve`, `reject` and `card` to the `model` command group."""
    model_app.command("approve", help=APPROVE_HELP)(approve)
    model_app.command("reject")(reject)
    model_app.command("card")(card)
