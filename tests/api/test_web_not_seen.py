"""The case page names the agencies that shared no records with the referral by the
explanation's own rule (`model.factor_text.worth_telling`, as `safeguard score`'s
warnings): schools hold no records about adults, so an adult's page does not list
education, a child's does."""

from __future__ import annotations

import re
from html import unescape

from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import signed_in_client


def _case_page(api: ApiEnv, **referral: object) -> tuple[dict, str]:
    """A case about which only the police hold records, scored by the trained model: its
    API result and its case page's text."""
    case = factories.case(events=3, presenting_need="abuse_neglect", **referral)
    scored = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert scored.status_code == 200, scored.text
    referral_id = case["referral"]["referral_id"]
    page = signed_in_client(api.client, api.keys["triage"]).get(f"/cases/{referral_id}")
    assert page.status_code == 200
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    return scored.json(), text


def _banner(text: str) -> str:
    found = re.search(r"No records about this person or household were shared with this "
                      r"referral by: ([^.]*)\.", text)
    assert found, "no banner of agencies not seen"
    return found.group(1)


def test_an_adults_case_page_does_not_list_education_as_not_seen(model_api: ApiEnv) -> None:
    result, text = _case_page(model_api, subject_type="adult_at_risk", age_years=33)
    assert "education" not in result["agencies_not_seen"]
    assert "Education" not in _banner(text) and "Health" in _banner(text)
    assert "Education No records shared" not in text
    assert "Shared no records" not in text and "No records were shared by" not in text


def test_a_childs_case_page_lists_education_as_not_seen(model_api: ApiEnv) -> None:
    result, text = _case_page(model_api, subject_type="child", age_years=9)
    assert "education" in result["agencies_not_seen"]
    assert "Education" in _banner(text)
    assert "Education No records shared with this referral: no effect on the score" in text
    assert ("No education records were seen for this child or household; education "
            "information usually matters for abuse or neglect referrals.") in text
