"""Lists on the pages asked for a page past their end: the triage queue."""

from __future__ import annotations

import re

from sqlalchemy import select

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
