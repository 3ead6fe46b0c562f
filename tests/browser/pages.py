"""Page objects: one class per page the service serves, so a test reads as a user's steps."""

from __future__ import annotations

from playwright.sync_api import Page

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

    def open_operation(self, method: str, path: str) -> str:
        """Expand one operation; the text of its details (parameters, responses)."""
        block = self.page.locator(f".opblock-{method.lower()}").filter(
            has=self.page.locator(f'.opblock-summary-path[data-path="{path}"]'))
        block.locator(".opblock-summary").click()
        body = block.locator(".opblock-body")
        body.wait_for(state="visible")
        return body.inner_text()
