"""Lists on the pages asked for a page past their end: the triage queue."""

from __future__ import annotations

import re

from sqlalchemy import select

from api.audit import AuditEvent, store_with_audit
from api.store import AuditEntry, Store
from api.web.triage import PAGE_SIZE
from tests.api.conftest import ApiEnv
from tests.api.web_client import scored_referral, signed_in_client


def _waiting(html: str) -> int:
    found = re.search(r"(\d+) referrals? waiting", html)
    assert found, "the queue says how many referrals wait"
    return int(found.group(1))


def test_a_queue_page_past_the_end_shows_the_last_page_not_an_empty_queue(api: ApiEnv) -> None:
    """A colleague's decisions shorten the queue: page 3 of yesterday's 3 pages was "No
    referral is waiting for a decision" under "40 referrals waiting", with no link back."""
    scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    waiting = _waiting(browser.get("/queue").text)
    last = -(-waiting // PAGE_SIZE)

    page = browser.get("/queue", params={"page": last + 2})

    assert page.status_code == 200
    assert "No referral is waiting" not in page.text
    listed = len(re.findall(r'<th scope="row" class="govuk-table__header"><a', page.text))
    assert listed == waiting - (last - 1) * PAGE_SIZE
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "queue_view")
                                .order_by(AuditEntry.seq.desc()).limit(1)).one()
    store.dispose()
    assert entry.details["page"] == last and entry.details["listed"] == listed


def _seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(
        r'<tr class="govuk-table__row">\s*<td class="govuk-table__cell '
        r'govuk-table__cell--numeric">(\d+)</td>', html)]


def _link(html: str, text: str) -> str | None:
    found = re.search(rf'<a class="govuk-link" href="([^"]+)">{text}</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _last_seq(api: ApiEnv) -> int:
    store = Store(api.settings.database_url)
    with store.session() as session:
        last = session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())
                               .limit(1)).one()
    store.dispose()
    return int(last)


def test_the_audit_page_reaches_the_latest_entries_and_pages_back_from_them(
    api: ApiEnv
) -> None:
    """The page listed the trail from its first entry, 50 at a time, with only a link to
    the next 50: a board looking for yesterday's entries in a long trail could not reach
    them."""
    store = Store(api.settings.database_url)  # a trail of more than two pages
    store_with_audit(store.engine, [
        AuditEvent(user_name="t", role="triage", action="queue_view", request_hash="0" * 64,
                   details={"n": n}) for n in range(120)])
    store.dispose()
    browser = signed_in_client(api.client, api.keys["governance"])
    first = browser.get("/governance/audit").text
    assert _seqs(first)[0] == 1 and _link(first, "Earlier entries") is None
    latest_link = _link(first, "Latest entries")
    assert latest_link is not None
    newest = _last_seq(api)

    latest = browser.get(latest_link).text

    shown = _seqs(latest)
    assert shown == list(range(newest - 49, newest + 1))  # the last 50, oldest first
    assert _link(latest, "Later entries") is None and _link(latest, "Latest entries") is None
    earlier_link = _link(latest, "Earlier entries")
    assert earlier_link is not None and earlier_link.endswith(f"before_seq={shown[0]}")
    viewed = _latest_audit_view(api)
    assert viewed.details["search"] == {"before_seq": 2**62} and viewed.details["entries"] == 50

    earlier = browser.get(earlier_link).text

    assert _seqs(earlier) == list(range(max(1, shown[0] - 50), shown[0]))
    assert _link(earlier, "Later entries") == (
        f"/governance/audit?user_name=&referral_id=&model_version=&since=&until="
        f"&after_seq={shown[0] - 1}")


def _latest_audit_view(api: ApiEnv) -> AuditEntry:
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit_view")
                                .order_by(AuditEntry.seq.desc()).limit(1)).one()
    store.dispose()
    return entry
