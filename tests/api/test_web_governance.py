"""The governance page and the audit trail's search, over HTTP: what the override-rates
table counts, the oversight reports' lines, and a search by time refused as the API
refuses it (`GET /v1/audit`'s `since` and `until`)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from api.monitor_command import MONITOR_JSON
from api.report_files import write_whole
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import scored_referral, signed_in_client

EXAMPLE = "an RFC 3339 date-time with a UTC offset, such as 2026-12-04T17:02:35Z"


def _text(page: str) -> str:
    """A page's text as a reader that splits it at tags gets it (a screen reader's
    browse mode, a text extract): each tag a break, runs of blanks one space."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())




def test_the_override_rates_say_they_count_referrals_not_decisions(own_store_api: ApiEnv) -> None:
    """Four decisions recorded on one referral showed as "Decisions 1": the table counts
    each referral's latest decision, and now says so."""
    referral = scored_referral(own_store_api, events=3)  # green
    previous = None
    for rag in ("green", "amber", "red", "amber"):
        decided = own_store_api.client.post(
            "/v1/decisions", headers=own_store_api.headers("triage"), json=factories.decision(
            referral, practitioner_rag=rag, agrees_with_band=rag == "green",
            reason=None if rag == "green" else "more concern",
            previous_decision_id=previous))
        assert decided.status_code == 201, decided.text
        previous = decided.json()["id"]
    browser = signed_in_client(own_store_api.client, own_store_api.keys["governance"])

    text = _text(browser.get("/governance").text)

    rates = text.split("Override rates", 1)[1]
    assert "Model version Referrals decided Raised Lowered Override rate" in rates
    assert re.search(r"Version \S+ 1 1 0 100\.0%", rates), rates  # the latest: amber
    assert "counted once, by its latest decision" in rates


def test_a_report_line_reads_whole_however_its_text_is_split(own_store_api: ApiEnv) -> None:
    """"Latest model monitoring report , written ...": a reader splitting the text at the
    link's closing tag set the comma apart from the words before it."""
    assert own_store_api.settings.reports_dir is not None
    folder = own_store_api.settings.reports_dir / "monitor"
    folder.mkdir(parents=True)
    write_whole(folder / MONITOR_JSON, "{}")
    browser = signed_in_client(own_store_api.client, own_store_api.keys["governance"])

    page = browser.get("/governance").text
    text = _text(page.split("<main", 1)[1].split("</main>", 1)[0])

    line = text.split("Oversight reports", 1)[1].split("UTC", 1)[0]
    assert line.startswith(" Model monitoring Latest model monitoring report (written "), line
    assert not re.search(r" [,.;:)]", text), re.search(r".{30} [,.;:)].{10}", text)


def _searched(api: ApiEnv, **params: str) -> tuple[int, str]:
    browser = signed_in_client(api.client, api.keys["governance"])
    page = browser.get("/governance/audit", params=params)
    return page.status_code, page.text


def test_an_audit_search_by_times_the_api_refuses_is_refused_not_the_whole_trail(
    api: ApiEnv
) -> None:
    """`?since=garbage&until=2026-13-45` answered 200 with the whole trail (the page took
    no time filter; the API refuses both with a 422)."""
    scored_referral(api)
    refused = api.client.get("/v1/audit", params={"since": "garbage", "until": "2026-13-45"},
                             headers=api.headers("governance"))
    assert refused.status_code == 422

    status, page = _searched(api, since="garbage", until="2026-13-45")

    assert status == 400 and "govuk-error-summary" in page
    assert 'href="#since"' in page and 'href="#until"' in page
    text = _text(page)
    assert f"From must be {EXAMPLE}" in text and f"To must be {EXAMPLE}" in text
    assert 'value="garbage"' in page and 'value="2026-13-45"' in page  # kept as entered
    assert "Nothing was searched." in text and "Entries, oldest first" not in text


@pytest.mark.parametrize(("field", "moment", "said"), [
    ("until", "2026-13-45T00:00:00Z", "To must be a real date and time (its month must be "
                                      "1 to 12)"),
    ("until", "2026-12-04T10:00:60Z", "To must be a real date and time (its hour must be 0 "
                                      "to 23, its minutes and seconds 0 to 59"),
    ("since", "9999-12-31T23:59:59-23:59", "From must be a real date and time (the moment "
                                           "in UTC is outside years 1 to 9999)"),
])
def test_a_time_of_the_right_form_that_is_no_real_moment_is_refused(
    api: ApiEnv, field: str, moment: str, said: str
) -> None:
    status, page = _searched(api, **{field: moment})
    assert status == 400 and f'href="#{field}"' in page and said in _text(page)
    assert "Entries, oldest first" not in page


def test_a_search_from_a_time_later_than_its_end_is_refused(api: ApiEnv) -> None:
    """No entry can match it: the page would say "No entry matches", as if none were made."""
    since, until = "2026-12-05T00:00:00Z", "2026-12-04T23:59:59+01:00"

    status, page = _searched(api, since=since, until=until)

    assert status == 400 and 'href="#since"' in page
    assert "From must not be later than To" in _text(page)
    assert f'value="{since}"' in page and f'value="{until}"' in page
    refused = api.client.get("/v1/audit", params={"since": since, "until": until},
                             headers=api.headers("governance"))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["field"] == "since" and error["message"] == "since must not be later than until"


def test_an_audit_search_between_two_times_finds_the_entries_made_between_them(
    api: ApiEnv
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    referral = scored_referral(api)
    after = datetime.now(UTC) + timedelta(seconds=1)
    stamp = "%Y-%m-%dT%H:%M:%SZ"

    status, within = _searched(api, referral_id=referral, since=before.strftime(stamp),
                               until=after.strftime(stamp))
    _, earlier = _searched(api, referral_id=referral,
                           until=(before - timedelta(seconds=1)).strftime(stamp))

    assert status == 200 and referral in within and "Entries, oldest first" in within
    assert "No entry matches this search." in earlier
    assert f'value="{before.strftime(stamp)}"' in within  # the search shown as made
