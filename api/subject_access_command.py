"""`safeguard subject-access`: everything held about one person, as an HTML file (audited).

The report is written to a private file beside the output first, the audit entry saying
it was disclosed is committed, and only then is the file renamed into place: a report
that cannot be written leaves no entry, and a written report always has one.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from data_contracts.cli import fail


def subject_access(
    person_id: Annotated[str, typer.Option("--person-id", help="The person's pseudonymous token.")],
    output: Annotated[Path, typer.Option(help="The HTML file to write.")],
) -> None:
    """Everything held about one person: their referrals, and model versions naming them.

    Every referral naming the person, with scores, explanations, decisions and audit, and
    every registered model version whose golden set (reference cases) names them."""
    from api.admin import open_store
    from api.audit import commit_with_audit, operator_event
    from api.settings import settings_registry
    from api.subject_access import (
        audit_details,
        golden_sets_record,
        rule_features,
        subject_access_record,
    )
    from api.templating import render_report
    from data_contracts.vocab import TOKEN_PATTERN
    from model.governance import GovernanceError

    if not re.fullmatch(TOKEN_PATTERN, person_id):
        fail(f"--person-id {person_id!r} is not a pseudonymous token ({TOKEN_PATTERN})")
    if output.suffix.lower() not in (".html", ".htm"):
        fail(f"{output}: the subject access report is HTML; name a .html file")
    if output.is_dir():
        fail(f"{output}: a folder; name the .html file to write")
    from data_contracts.output_paths import file_place_refusal

    refusal = file_place_refusal(output, what="subject access report")
    if refusal:  # before the record is read: "sa.html: File exists" named no problem
        fail(refusal)
    settings, store = open_store("the record is read from it, and the request audited")
    try:
        rules = rule_features(settings)
    except GovernanceError as exc:
        store.dispose()
        fail(str(exc))
    golden = golden_sets_record(settings_registry(settings), person_id, show_address=True)
    with store.session() as session:
        record = subject_access_record(session, person_id, rules=rules, golden=golden)
        staged = _write_private(output, render_report(
            "reports/subject_access.html", record=record))
        try:
            commit_with_audit(session, [operator_event("subject_access",
                                                       **audit_details(record))])
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
    store.dispose()
    os.replace(staged, output)
    found = len(record["referrals"])
    typer.echo(f"{found} {'referral' if found == 1 else 'referrals'} naming {person_id}: {output}")
    typer.echo(NOT_SEARCHED)
    _echo_golden(golden)


# What a subject access request does not reach: a probe's person with referrals in the
# batch extract and its `scores.csv` read "0 referrals naming" them (7 December).
NOT_SEARCHED: Final = ("not searched: the agencies' extracts and files written by batch "
                       "commands (features, score), which are not held in the service's "
                       "store: search them where they are kept")


def _echo_golden(golden: Mapping[str, Any]) -> None:
    """One line on the model versions' golden sets: which name the person, or that they
    could not be searched (to standard error: the report is incomplete)."""
    if not golden["searched"]:
        typer.echo(f"warning: model versions' golden sets not searched: {golden['unavailable']}; "
                   "the report says so", err=True)
        return
    naming = [str(v["version"]) for v in golden["versions"]]
    searched = len(golden["versions_searched"])
    if naming:
        typer.echo(f"named in the golden set (reference cases) of model "
                   f"{'version' if len(naming) == 1 else 'versions'} {', '.join(naming)} "
                   f"(of {searched} searched)")
    else:
        typer.echo(f"named in no model version's golden set ({searched} searched)")
    for version, why in golden["unreadable"].items():
        typer.echo(f"warning: model version {version}: {why}", err=True)


def _write_private(path: Path, text: str) -> Path:
    """Write ``text`` to a new file beside ``path``, readable by its owner only (mode
    0600, as the audit key: a report about a person is theirs and the controller's, not
    every local user's), and return it; the caller renames it onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=".part")  # mode 0600
    staged = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as report:
            report.write(text)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged
