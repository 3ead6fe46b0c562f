"""`safeguard subject-access`: everything held about one person, as an HTML file (audited)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import typer

from data_contracts.cli import fail


def subject_access(
    person_id: Annotated[str, typer.Option("--person-id", help="The person's pseudonymous token.")],
    output: Annotated[Path, typer.Option(help="The HTML file to write.")],
) -> None:
    """Every referral naming the person, with scores, explanations, decisions and audit."""
    from api.admin import open_store
    from api.audit import commit_with_audit, operator_event
    from api.subject_access import subject_access_record
    from api.templating import render_report
    from data_contracts.vocab import TOKEN_PATTERN

    if not re.fullmatch(TOKEN_PATTERN, person_id):
        fail(f"--person-id {person_id!r} is not a pseudonymous token ({TOKEN_PATTERN})")
    if output.suffix.lower() not in (".html", ".htm"):
        fail(f"{output}: the subject access report is HTML; name a .html file")
    _, store = open_store("the record is read from it, and the request audited")
    with store.session() as session:
        record = subject_access_record(session, person_id)
        commit_with_audit(session, [operator_event(
            "subject_access", person_id=person_id, referrals=len(record["referrals"]))])
    store.dispose()
    _write_private(output, render_report("reports/subject_access.html", title="Subject access",
                                         record=record))
    typer.echo(f"{len(record['referrals'])} referrals naming {person_id}: {output}")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only (mode 0600, as the audit key): a report
    about a person is theirs and the controller's, not every local user's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as report:
        os.fchmod(report.fileno(), 0o600)  # a file that was there keeps its mode otherwise
        report.write(text)
