"""Page objects: one class per page the service serves, so a test reads as a user's steps."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page

from tests.browser.conftest import OfflinePage


class ApiDocsPage:
    """`/docs`: Swagger UI listing the API's operations."""

    path = "/docs"

    def __init__(self, offline: OfflinePage) -> None:
        self.page: Page = offline.open(self.path)

    def operations(self) -> set[tuple[str, str]]:
        """(method, path) of every operation shown, once Swagger UI has drawn them."""
        blocks = self.page.locator(".opblock")
        blocks.first.wait_for(state="visible")
        methods = blocks.locator(".opblock-summary-method").all_inner_texts()
        paths = blocks.locator(".opblock-summary-path").all_inner_texts()
        return {(method.lower(), path.replace("\u200b", "")) for method, path in
                zip(methods, paths, strict=True)}

    def _operation(self, method: str, path: str) -> Locator:
        # An operation under two tags is shown twice: the first will do.
        return self.page.locator(f".opblock-{method.lower()}").filter(
            has=self.page.locator(f'.opblock-summary-path[data-path="{path}"]')).first

    def open_operation(self, method: str, path: str) -> str:
        """Expand one operation; the text of its details (parameters, responses)."""
        block = self._operation(method, path)
        block.locator(".opblock-summary").click()
        body = block.locator(".opblock-body")
        # The body's box shows before Swagger UI has drawn into it: wait for the
        # responses table, the last section drawn and one every operation has.
        body.locator(".responses-table .response").first.wait_for(state="visible")
        return body.inner_text()

    def authorize(self, bearer_key: str) -> None:
        """Give the page an API key (Authorize, HTTPBearer), as a user does."""
        self.page.locator(".auth-wrapper .authorize").click()
        dialog = self.page.locator(".dialog-ux")
        dialog.locator("input").first.fill(bearer_key)
        dialog.locator(".auth-btn-wrapper .authorize").first.click()
        dialog.locator(".btn-done").first.click()

    def try_out(self, method: str, path: str) -> tuple[str, str]:
        """Try an operation without parameters: (status code, response body) shown."""
        block = self._operation(method, path)
        block.locator(".opblock-summary").click()
        block.locator(".try-out__btn").click()
        block.locator(".execute").click()
        result = block.locator(".live-responses-table .response")
        result.wait_for(state="visible")
        status = result.locator(".response-col_status").inner_text().strip()
        return status, result.locator(".response-col_description").inner_text()


# --- The web pages (api/web) ---

AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
WIDTHS = {"desktop": 1280, "mobile": 390}
# WCAG 2.1's reflow criterion (1.4.10): nothing but a table's own box scrolls sideways in a
# 320 px window (the monitoring and partnership reports' tables made the page 512 and 823 px
# wide; a threshold's name in the approval task list, 370 px).
REFLOW_WIDTH = 320
# Moderate too: a signed-in page's account bar outside every landmark ("region") and the
# model card's scrolling tables all named alike ("landmark-unique") were moderate.
_BLOCKING = ("moderate", "serious", "critical")


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's moderate, serious and critical violations on the page (WCAG 2.1 A and AA
    rules, and best practice)."""
    if not AXE_SOURCE.is_file():
        raise AssertionError(f"axe-core is missing at {AXE_SOURCE}: `make assets` installs it")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;undefined")
    violations = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(" "))}))""")
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {v['targets']}"
            for v in violations if v["impact"] in _BLOCKING]


def check_page(page: Page, name: str) -> None:
    """At both widths: no moderate, serious or critical axe violation, nothing wider than the
    window (a wide table scrolls in its own box), and a full-page screenshot saved as
    test-output/screenshots/<name>-<width>.png; nothing wider than a 320 px window either;
    a title that begins with the page's <h1> (after "Error: ", when the page says so)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    heading, title = page.locator("h1").inner_text().strip(), page.title()
    if not title.removeprefix("Error: ").startswith(heading):  # GOV.UK's title pattern
        problems.append(f"the title {title!r} does not begin with the heading {heading!r}")
    page.set_viewport_size({"width": REFLOW_WIDTH, "height": 900})
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > REFLOW_WIDTH:
        problems.append(f"reflow: the page is {wide} px wide in a {REFLOW_WIDTH} px window")
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        problems += [f"{label}: {problem}" for problem in accessibility_problems(page)]
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            problems.append(f"{label}: the page is {wide} px wide in a {width} px window")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
    assert problems == [], f"problems on the {name} page: {problems}"


class SignInPage:
    """`/sign-in`: the API key field."""

    path = "/sign-in"

    def __init__(self, offline: OfflinePage) -> None:
        self.page: Page = offline.open(self.path)

    def sign_in(self, key: str) -> None:
        self.page.get_by_label("API key").fill(key)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Sign in").click()

    def error_summary(self) -> str:
        return self.page.locator(".govuk-error-summary").inner_text()


def account_bar(page: Page) -> str:
    """The "Signed in as" bar in the page's header (banner landmark), or "" when none."""
    bar = page.locator("header .sg-account-bar")
    return bar.inner_text() if bar.count() else ""


def sign_in_here(page: Page, key: str) -> None:
    """Sign in on the sign-in page the browser was sent to (its `next` kept)."""
    page.get_by_label("API key").fill(key)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def sign_out_in_another_tab(page: Page, url: str, key: str | None = None) -> None:
    """Sign out (and in again with `key`) in a second tab of the same browser."""
    other = page.context.new_page()
    other.goto(url)
    with other.expect_navigation():
        other.get_by_role("button", name="Sign out").click()
    if key is not None:
        sign_in_here(other, key)
    other.close()


class QueuePage:
    """`/queue`: referrals awaiting a decision."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def referral_ids(self) -> list[str]:
        links = self.page.locator("table tbody th a")
        links.first.wait_for()
        return links.all_inner_texts()

    def open_case(self, referral_id: str) -> CasePage:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name=referral_id, exact=True).click()
        return CasePage(self.page)


class CasePage:
    """`/cases/{id}`: the score, its explanation, the decision form and history."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def heading(self) -> str:
        return self.page.locator("h1").inner_text()

    def band(self) -> str:
        return self.page.locator(".govuk-summary-list .govuk-tag").first.inner_text()

    def record_decision(self, *, rag: str, next_step: str, reason: str = "") -> None:
        self.page.get_by_label(rag, exact=True).check()
        self.page.get_by_label("Next step").fill(next_step)
        self.page.get_by_label("Reason").fill(reason)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Record decision").click()

    def error_summary(self) -> str:
        return self.page.locator(".govuk-error-summary").inner_text()

    def history(self) -> str:
        return self.page.locator("#history ~ ol").inner_text()


class GovernancePage:
    """`/governance`: model versions and override rates."""

    path = "/governance"

    def __init__(self, page: Page) -> None:
        self.page = page

    def versions(self) -> list[str]:
        return self.page.locator("table").first.locator("tbody th").all_inner_texts()


class AuditPage:
    """`/governance/audit`: the chain's status and a search of its entries."""

    path = "/governance/audit"

    def __init__(self, page: Page) -> None:
        self.page = page

    def status(self) -> str:
        return self.page.locator("h2:has-text('Verification') + *").inner_text()

    def search_referral(self, referral_id: str) -> list[str]:
        self.page.get_by_label("Referral").fill(referral_id)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Search").click()
        return self.page.locator("table tbody tr").all_inner_texts()


class ApprovalPage:
    """`/governance/versions/{v}/approval`: the task list, and the way to decide."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def task_status(self, task: str) -> str:
        row = self.page.locator(".govuk-task-list__item", has_text=task)
        return row.locator(".govuk-task-list__status").inner_text().strip()

    def decide(self, *, decision: str, reason: str) -> None:
        """Approve or reject, give the reason and continue to check your answers."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Approve or reject this version").click()
        self.page.get_by_label(f"{decision.capitalize()} version").check()
        self.page.get_by_label("Reason for your decision").fill(reason)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Continue").click()

    def confirm(self) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Confirm and record decision").click()
