"""The case page and the queue show the referral's own details the score was made from:
its date above all (a probe's practitioner saw "less than a minute since 8 December" for
a referral dated 23 days before, and no date anywhere), who was referred, by whom, for
what; the API's result carries them too."""

from __future__ import annotations

import datetime as dt
import re

from api.web.views import QueueRow
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import signed_in_client


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_case_page_and_queue_show_the_referrals_date_and_details(api: ApiEnv) -> None:
    case = factories.case(events=15, subject_type="adult_at_risk", age_years=71,
                          referral_source="health", presenting_need="abuse_neglect",
                          referral_date="2024-06-01")
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 200
    assert response.json()["referral"] == {
        "referral_date": "2024-06-01", "subject_type": "adult_at_risk", "age_years": 71,
        "referral_source": "health", "presenting_need": "abuse_neglect"}
    referral = case["referral"]["referral_id"]
    client = signed_in_client(api.client, api.keys["triage"])
    gap = (dt.datetime.now(dt.UTC).date() - dt.date(2024, 6, 1)).days
    page = _text(client.get(f"/cases/{referral}").text)
    assert (f"Referral date 1 June 2024 {gap} days before it was scored: the waiting time "
            "counts from the score") in page
    assert ("Referred Adult at risk, aged 71 Referred by Health Presenting need Abuse "
            "neglect") in page
    queue = _text(client.get("/queue").text)
    assert f"(referral dated 1 June 2024, {gap} days before)" in queue


def test_a_referral_dated_the_day_it_is_scored_shows_no_gap() -> None:
    now = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
    row = QueueRow(referral_id="R", score=3, band=None,  # type: ignore[arg-type]
                   presenting_need=None, arrived=now, waited_hours=0.0, due_hours=None,
                   timescale="", referral_date=dt.date(2026, 12, 7))
    assert row.dated_before == ""
    older = QueueRow(referral_id="R", score=3, band=None,  # type: ignore[arg-type]
                     presenting_need=None, arrived=now, waited_hours=0.0, due_hours=None,
                     timescale="", referral_date=dt.date(2026, 12, 6))
    assert older.dated_before == "referral dated 6 December 2026, 2 days before"
    unknown = QueueRow(referral_id="R", score=3, band=None,  # type: ignore[arg-type]
                       presenting_need=None, arrived=now, waited_hours=0.0, due_hours=None,
                       timescale="")
    assert unknown.dated_before == ""
