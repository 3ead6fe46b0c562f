"""Model cards rendered: HTML and Markdown files, the card logged with a version's run.

The content is `model.card.build_card`'s; this module reads its sources from the
registry, hands in the approval history, and renders the two templates
(`api/templates/reports/model_card.html` and `.md`). `log_card` is what training runs
after registering a version: the file it logs (`card/model_card.html`) is the one an
approval names by its SHA-256.
"""

from __future__ import annotations

import base64
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from api.approval_content import approval_covers
from api.templating import render_page, render_report, template_environment
from model.card import ApprovalEntry, ModelCard, build_card
from model.card_sources import read_sources
from model.fairness_report import audit_from_document, report_context
from model.governance import AcceptanceThresholds
from model.registry import ModelRegistry
from model.registry_records import VersionInfo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.settings import Settings

logger = logging.getLogger(__name__)

CARD_HTML: Final = "model_card.html"
CARD_MARKDOWN: Final = "model_card.md"
CALIBRATION_FILE: Final = "calibration.png"
CARD_FOLDER: Final = "card"
CARD_TEMPLATE: Final = f"reports/{CARD_HTML}"


def card_for(registry: ModelRegistry, version: str,
             approvals: Sequence[ApprovalEntry] = (), *,
             board: AcceptanceThresholds | None) -> ModelCard:
    """The card of a registered version, with the approval history given, its acceptance
    checks judged against the board's thresholds (`board`) as the gate judges them."""
    return build_card(read_sources(registry, version), board=board, approvals=approvals)


def card_with_history(session: Session, registry: ModelRegistry, version: str,
                      settings: Settings) -> ModelCard:
    """The card the API and the card page show: with its approval history from the store,
    both judged against the board's thresholds in force (`api.settings.board_thresholds`)."""
    from api.approval_history import approval_history
    from api.settings import board_thresholds

    board = board_thresholds(settings)
    return card_for(registry, version, approval_history(session, registry, version, board=board),
                    board=board)


def _data_uri(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def _fairness(document: dict[str, Any] | None) -> dict[str, Any] | None:
    return report_context(audit_from_document(document)) if document else None


def card_context(card: ModelCard) -> dict[str, Any]:
    """What the card's HTML template is rendered with (the report's and the pages'):
    with the fairness report's interval charts, drawn as the report draws them, and its
    sentences on what the model saw about each group, for the test referrals' audit and
    the whole extract's when one is recorded."""
    fairness, extract = _fairness(card.fairness_document), _fairness(card.extract_audit_document)
    return {"card": card, "title": f"{card.name} version {card.version} - Model card",
            "calibration_src": _data_uri(card.calibration_png),
            "fairness_sections": fairness["sections"] if fairness else [],
            "recording": fairness["recording"] if fairness else None,
            "tolerance": fairness["tolerance"] if fairness else None,
            "extract_fairness_sections": extract["sections"] if extract else [],
            "extract_recording": extract["recording"] if extract else None,
            "extract_tolerance": extract["tolerance"] if extract else None,
            "approval_covers": approval_covers()}


def card_html(card: ModelCard, *, standalone: bool = True) -> str:
    """The card as an HTML report (CSS inlined) or a page served by the service."""
    render = render_report if standalone else render_page
    return render(CARD_TEMPLATE, **card_context(card))


def card_markdown(card: ModelCard) -> str:
    """The card as Markdown; its calibration plot is the file written beside it."""
    template = template_environment().get_template(f"reports/{CARD_MARKDOWN}")
    fairness, extract = _fairness(card.fairness_document), _fairness(card.extract_audit_document)
    return template.render(card=card, calibration_src=CALIBRATION_FILE
                           if card.calibration_png is not None else None,
                           recording=fairness["recording"] if fairness else None,
                           extract_recording=extract["recording"] if extract else None,
                           approval_covers=approval_covers())


def write_card(card: ModelCard, output: Path) -> list[Path]:
    """Write model_card.html, model_card.md (and the calibration plot) into a folder."""
    output.mkdir(parents=True, exist_ok=True)
    written = [output / CARD_HTML, output / CARD_MARKDOWN]
    written[0].write_text(card_html(card), encoding="utf-8")
    written[1].write_text(card_markdown(card), encoding="utf-8")
    if card.calibration_png is not None:
        (output / CALIBRATION_FILE).write_bytes(card.calibration_png)
        written.append(output / CALIBRATION_FILE)
    return written


def log_card(registry: ModelRegistry, version: VersionInfo, *,
             board: AcceptanceThresholds | None) -> None:
    """Render a new version's card (no approvals yet, its checks judged against `board`)
    and log it with its run (`card/`)."""
    card = card_for(registry, version.version, board=board)
    with tempfile.TemporaryDirectory() as tmp:
        write_card(card, Path(tmp))
        registry.log_files(version.run_id, Path(tmp), CARD_FOLDER)
    logger.info("model card of version %s logged with run %s", version.version, version.run_id)
