"""Confluence REST v1: create a page once, then update that same page in place.

A small typed client over `requests`: plain dataclasses in and out, never imports `app`.
Every failure raises a `ConfluenceError` whose `status` is what the app answers with
(502 Confluence answered wrongly, 503 unavailable or rate limited, 504 timed out).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from integrations.http import retry_after_seconds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfluenceConfig:
    """Where and how to publish. `url` is the site base with its context path (`…/wiki` on Cloud)."""

    url: str
    space: str
    user: str = ""
    token: str = ""
    parent_id: str = ""
    timeout_seconds: float = 10.0
    # A 429 asking to wait longer than this fails at once instead of holding the request.
    max_retry_after_seconds: float = 10.0
    rate_limit_retries: int = 2

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.space)


@dataclass(frozen=True)
class Page:
    """A Confluence page as this client sees it."""

    id: str
    title: str
    version: int
    url: str


class ConfluenceError(Exception):
    """Confluence could not do what was asked; `status` is the HTTP status to answer with."""

    status = 502

    def __init__(self, message: str, *, http_status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after


class ConfluenceRejected(ConfluenceError):
    """Confluence refused the request (4xx): bad credentials, unknown space or parent, invalid body."""


class ConfluenceNotFound(ConfluenceRejected):
    """The page (or the parent page) does not exist."""


class ConfluenceConflict(ConfluenceError):
    """The page's version moved on under us (409), and retrying did not help."""


class ConfluenceUnavailable(ConfluenceError):
    """Confluence is down, unreachable or overloaded."""

    status = 503


class ConfluenceRateLimited(ConfluenceUnavailable):
    """Confluence answered 429 for longer than we are willing to wait."""


class ConfluenceTimeout(ConfluenceError):
    """Confluence did not answer in time."""

    status = 504


class ConfluenceClient:
    """Publishes storage-format pages to one space. `sleep` is injectable so tests never wait."""

    def __init__(
        self,
        config: ConfluenceConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.base = config.url.rstrip("/")
        self.sleep = sleep
        self.http = session or requests.Session()
        self.http.headers.update({
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-Atlassian-Token": "no-check",
        })
        if config.user:
            self.http.auth = (config.user, config.token)
        elif config.token:
            self.http.headers["Authorization"] = f"Bearer {config.token}"

    # -- the operations ---------------------------------------------------------------------

    def find_page(self, title: str) -> Page | None:
        """The page of this space with exactly `title`, if any."""
        data = self._request(
            "GET", "/rest/api/content",
            params={"spaceKey": self.config.space, "title": title, "expand": "version"},
        )
        for item in data.get("results") or []:
            if item.get("title") == title:
                return self._page(item)
        return None

    def get_page(self, page_id: str) -> Page:
        """The page with its current version; ConfluenceNotFound if it is gone."""
        return self._page(self._request("GET", f"/rest/api/content/{page_id}", params={"expand": "version"}))

    def create_page(self, title: str, storage: str) -> Page:
        """Create the page in the space, under the configured parent page if any."""
        body: dict[str, Any] = {
            "type": "page",
            "title": title,
            "space": {"key": self.config.space},
            "body": {"storage": {"value": storage, "representation": "storage"}},
        }
        if self.config.parent_id:
            body["ancestors"] = [{"id": self.config.parent_id}]
        return self._page(self._request("POST", "/rest/api/content", json=body))

    def update_page(self, page_id: str, title: str, storage: str, *, version: int) -> Page:
        """Replace the page's title and body; `version` must be the current version + 1."""
        body = {
            "id": page_id,
            "type": "page",
            "title": title,
            "version": {"number": version},
            "body": {"storage": {"value": storage, "representation": "storage"}},
        }
        return self._page(self._request("PUT", f"/rest/api/content/{page_id}", json=body))

    def publish(self, title: str, storage: str, *, page_id: str | None = None) -> Page:
        """Create or update the one page for this document and return it.

        With `page_id` (from an earlier publish) that page is updated to its next
        version; a 409 (someone saved in between) re-reads the version and retries
        once. Without it, a page already carrying `title` (created by an earlier
        publish whose answer was lost) is updated rather than duplicated.
        """
        current: Page | None = None
        if page_id:
            try:
                current = self.get_page(page_id)
            except ConfluenceNotFound:
                log.warning("Confluence page %s is gone; publishing a new one", page_id)
        if current is None:
            current = self.find_page(title)
        if current is None:
            try:
                return self.create_page(title, storage)
            except ConfluenceRejected as exc:
                # Two publishes racing: the other one created the page first.
                if exc.http_status != 400:
                    raise
                current = self.find_page(title)
                if current is None:
                    raise
        try:
            return self.update_page(current.id, title, storage, version=current.version + 1)
        except ConfluenceConflict:
            fresh = self.get_page(current.id)
            return self.update_page(current.id, title, storage, version=fresh.version + 1)

    # -- plumbing -----------------------------------------------------------------------------

    def _page(self, data: dict[str, Any]) -> Page:
        links = data.get("_links") or {}
        base = str(links.get("base") or self.base)
        webui = str(links.get("webui") or f"/pages/viewpage.action?pageId={data.get('id')}")
        return Page(
            id=str(data["id"]),
            title=str(data.get("title", "")),
            version=int((data.get("version") or {}).get("number", 1)),
            url=base.rstrip("/") + webui if webui.startswith("/") else webui,
        )

    def _request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> dict[str, Any]:
        url = f"{self.base}{path}"
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    method, url, params=params, json=json, timeout=self.config.timeout_seconds
                )
            except requests.Timeout:
                raise ConfluenceTimeout(
                    f"Confluence did not answer {method} {path} within {self.config.timeout_seconds:g} s."
                ) from None
            except requests.RequestException as exc:
                raise ConfluenceUnavailable(f"Confluence is unreachable: {type(exc).__name__}.") from None
            status = response.status_code
            if status == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                wait = 1.0 if wait is None else wait
                if attempt < self.config.rate_limit_retries and wait <= self.config.max_retry_after_seconds:
                    attempt += 1
                    log.info("Confluence rate limit on %s %s: waiting %.1f s", method, path, wait)
                    self.sleep(wait)
                    continue
                raise ConfluenceRateLimited(
                    f"Confluence is rate limiting us; it asks to retry in {wait:g} s.",
                    http_status=429, retry_after=wait,
                )
            if status < 400:
                try:
                    return response.json()
                except ValueError:
                    raise ConfluenceError(
                        f"Confluence answered {method} {path} with something that is not JSON.", http_status=status
                    ) from None
            message = _message(response)
            if status == 409:
                raise ConfluenceConflict(f"Confluence refused the update: {message}", http_status=status)
            if status == 404:
                raise ConfluenceNotFound(f"Confluence has no such page or space: {message}", http_status=status)
            if status in (401, 403):
                raise ConfluenceRejected(
                    f"Confluence refused our credentials ({status}): {message}", http_status=status
                )
            if status < 500:
                raise ConfluenceRejected(f"Confluence refused the request ({status}): {message}", http_status=status)
            if status == 504:
                raise ConfluenceTimeout(f"Confluence timed out ({status}): {message}", http_status=status)
            if status == 503:
                raise ConfluenceUnavailable(
                    f"Confluence is unavailable ({status}): {message}", http_status=status,
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                )
            raise ConfluenceError(f"Confluence failed ({status}): {message}", http_status=status)


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:300]
    return response.reason or str(response.status_code)
