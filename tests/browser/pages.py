"""Page objects: one class per page the service serves, so a test reads as a user's steps."""

from __future__ import annotations

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
        body.wait_for(state="visible")
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
