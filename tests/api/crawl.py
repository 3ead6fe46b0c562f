"""A crawler of what the service serves: every page it links, and every host they name.

It starts from every GET route without path parameters (so pages added later are
crawled too) and follows what HTML pages load or link (`src`, `href`), what
stylesheets load (`url(...)`, `@import`) and what the OpenAPI description refers
to (`$ref`, `servers`, `externalDocs`, any URL in a text). JavaScript is not read:
what a script fetches when it runs is the browser tests' business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")
_TEXT_URL = re.compile(r"https?://[^\s'\"<>)]+")


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


def html_links(html: str) -> list[str]:
    parser = _LinkParser()
    parser.feed(html)
    return parser.links


def css_links(css: str) -> list[str]:
    return [url or imported for url, imported in _CSS_URL.findall(css)]


def json_links(value: Any) -> Iterator[str]:
    """Local references (`$ref`) and every URL in any string of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and not item.startswith("#"):
                yield item
            else:
                yield from json_links(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_links(item)
    elif isinstance(value, str):
        yield from _TEXT_URL.findall(value)


def start_paths(client: TestClient) -> list[str]:
    """Every GET route of the app (included routers' too) that takes no path parameter."""
    routes = iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
    return sorted(route.path for route in routes if route.path and "{" not in route.path
                  and "GET" in (route.methods or ()))


@dataclass
class Crawl:
    """What a crawl fetched (path -> status) and the outside references it found."""

    fetched: dict[str, int] = field(default_factory=dict)
    outside: list[tuple[str, str]] = field(default_factory=list)
    html_pages: list[str] = field(default_factory=list)


def crawl(client: TestClient, headers: dict[str, str] | None = None) -> Crawl:
    """Fetch every page reachable from the app's start paths; note outside references."""
    own = urlsplit(str(client.base_url)).netloc
    result = Crawl()
    queue = start_paths(client)
    while queue:
        path = queue.pop()
        if path in result.fetched:
            continue
        response = client.get(path, headers=headers)
        result.fetched[path] = response.status_code
        for link in _links(response, result, path):
            target = urlsplit(urljoin(f"http://{own}{path}", link))
            if target.scheme in ("http", "https") and target.netloc != own:
                result.outside.append((path, link))
            elif target.scheme in ("http", "https") and target.path not in result.fetched:
                queue.append(target.path)
    return result


def _links(response: Any, result: Crawl, path: str) -> list[str]:
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/html"):
        result.html_pages.append(path)
        return html_links(response.text)
    if kind.startswith("text/css"):
        return css_links(response.text)
    if kind.startswith("application/json"):
        return list(json_links(response.json()))
    return []
