"""Jira adapter: the `jira` library stays in here; the app sees plain dataclasses and JiraFailure.

The library's own retries are switched off (`max_retries=0`) and every request has a short
timeout: the app's outbox owns retrying, with backoff, and a worker never sleeps for minutes
inside the library. Each failure is raised as `JiraFailure` with a `kind` that says whether
retrying is safe and whether the request may have been applied anyway (`uncertain`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import requests
from jira import JIRA, JIRAError

from integrations.http import retry_after_seconds

log = logging.getLogger(__name__)

Category = Literal["new", "indeterminate", "done"]
CATEGORIES: tuple[str, ...] = ("new", "indeterminate", "done")
SEARCH_FIELDS = ["summary", "description", "duedate", "labels", "updated", "priority", "status", "assignee"]
JIRA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


@dataclass(frozen=True)
class JiraConfig:
    """How to reach Jira; built by the app from its settings."""

    url: str
    project: str
    user: str = ""
    token: str = ""
    issue_type: str = "Task"
    deployment: Literal["auto", "cloud", "server"] = "auto"
    timeout: float = 10.0
    max_retries: int = 0
    page_size: int = 100


@dataclass(frozen=True)
class JiraUser:
    """A Jira user: Cloud identifies by `account_id`, Server/Data Center by `name`."""

    account_id: str | None = None
    name: str | None = None
    email: str | None = None
    display_name: str | None = None

    def identifier(self, cloud: bool) -> str | None:
        return self.account_id if cloud else self.name


@dataclass(frozen=True)
class JiraIssue:
    """The fields of an issue that Hindsight reads."""

    key: str
    id: str
    summary: str
    description: str
    duedate: date | None
    labels: tuple[str, ...]
    updated: datetime | None
    status_name: str | None
    status_category: str | None
    assignee: JiraUser | None
    priority: str | None


@dataclass
class IssueFields:
    """What Hindsight writes to an issue; None leaves a field out of the request."""

    summary: str | None = None
    description: str | None = None
    duedate: date | None = None
    assignee: str | None = None  # accountId on Cloud, name on Server
    priority: str | None = None
    labels: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_rest(self, cloud: bool) -> dict[str, Any]:
        """Jira REST v2 `fields`."""
        out: dict[str, Any] = dict(self.extra)
        if self.summary is not None:
            out["summary"] = self.summary
        if self.description is not None:
            out["description"] = self.description
        if self.duedate is not None:
            out["duedate"] = self.duedate.isoformat()
        if self.assignee is not None:
            out["assignee"] = {"accountId": self.assignee} if cloud else {"name": self.assignee}
        if self.priority is not None:
            out["priority"] = {"name": self.priority}
        if self.labels is not None:
            out["labels"] = list(self.labels)
        return out


class JiraFailure(Exception):
    """Jira could not do what was asked.

    kind: "unreachable" (connection refused/reset, DNS), "timeout" (no answer in time),
    "rate_limited" (429; `retry_after` seconds if Jira said), "server_error" (5xx),
    "rejected" (4xx other than 429: the request itself or the config is wrong),
    "bad_response" (an answer that is not what Jira's REST gives), "not_found" (404).
    `uncertain` is True when the request may have been applied although no answer came.
    """

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None, uncertain: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.uncertain = uncertain
        # Set when a create went through but reading the new issue back failed.
        self.created_key: str | None = None
        self.created_id: str | None = None

    @property
    def service_wide(self) -> bool:
        """True when Jira as a whole is unavailable or throttling: the other pushes would fail too."""
        return self.kind in ("unreachable", "rate_limited") or self.status == 503

    def __str__(self) -> str:
        return self.message


def parse_jira_time(value: str | None) -> datetime | None:
    """A Jira timestamp such as 2025-01-01T12:00:00.000+0000, as an aware datetime."""
    if not value:
        return None
    try:
        return datetime.strptime(value, JIRA_TIME_FORMAT)
    except ValueError:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None


def jql_time(moment: datetime) -> str:
    """A JQL date literal: minute precision, in the offset the moment carries (Jira's own)."""
    return moment.strftime("%Y/%m/%d %H:%M")


def jql_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _user(raw: dict[str, Any] | None) -> JiraUser | None:
    if not raw:
        return None
    return JiraUser(
        account_id=raw.get("accountId"), name=raw.get("name"),
        email=(raw.get("emailAddress") or None), display_name=raw.get("displayName"),
    )


def issue_from_raw(raw: dict[str, Any]) -> JiraIssue:
    """Read an issue from Jira's JSON (a REST answer or a webhook's `issue`)."""
    try:
        fields = raw.get("fields") or {}
        status = fields.get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        due = fields.get("duedate")
        priority = fields.get("priority") or {}
        return JiraIssue(
            key=str(raw["key"]), id=str(raw.get("id", "")),
            summary=fields.get("summary") or "", description=fields.get("description") or "",
            duedate=date.fromisoformat(due[:10]) if due else None,
            labels=tuple(fields.get("labels") or ()),
            updated=parse_jira_time(fields.get("updated")),
            status_name=status.get("name"), status_category=category,
            assignee=_user(fields.get("assignee")), priority=priority.get("name"),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise JiraFailure("bad_response", f"Jira sent an issue Hindsight cannot read: {exc!r}") from None


class JiraClient:
    """One connection to Jira for a run of pushes and pulls. Not thread-safe; close() when done."""

    def __init__(self, config: JiraConfig) -> None:
        self.config = config
        self._jira: JIRA | None = None
        self._users: dict[str, JiraUser | None] = {}
        # The library's Issue resources last read, so an update needs no second GET.
        self._resources: dict[str, Any] = {}

    # -- connection ---------------------------------------------------------------------
    @property
    def jira(self) -> JIRA:
        """The library client, connected on first use (serverInfo tells Cloud from Server)."""
        if self._jira is None:
            self._jira = self._call(self._connect, uncertain=False)
        return self._jira

    def _connect(self) -> JIRA:
        config = self.config
        options: dict[str, Any] = {
            "server": config.url,
            "timeout": config.timeout,
            "max_retries": config.max_retries,
            "get_server_info": config.deployment == "auto",
        }
        if config.user and config.token:
            options["basic_auth"] = (config.user, config.token)
        elif config.token:
            options["token_auth"] = config.token
        client = JIRA(**options)
        if config.deployment == "cloud":
            client.deploymentType = "Cloud"
        elif config.deployment == "server":
            client.deploymentType = "Server"
        return client

    @property
    def cloud(self) -> bool:
        return self.jira.deploymentType == "Cloud"

    def close(self) -> None:
        if self._jira is not None:
            self._jira.close()
            self._jira = None

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # -- error translation --------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, uncertain: bool, **kwargs: Any) -> Any:
        """Run a library call, turning every way it can fail into a JiraFailure."""
        try:
            return fn(*args, **kwargs)
        except JIRAError as exc:
            raise _from_jira_error(exc, uncertain=uncertain) from None
        except requests.exceptions.ConnectTimeout as exc:
            raise JiraFailure("unreachable", f"Jira at {self.config.url} did not accept the connection in time: {exc}") from None
        except requests.exceptions.Timeout as exc:
            raise JiraFailure(
                "timeout", f"Jira did not answer within {self.config.timeout:g} s: {exc}", uncertain=uncertain
            ) from None
        except requests.exceptions.ConnectionError as exc:
            # A connection dropped mid-request may still have been applied.
            raise JiraFailure(
                "unreachable", f"Cannot reach Jira at {self.config.url}: {_short(exc)}", uncertain=uncertain
            ) from None
        except requests.exceptions.RequestException as exc:
            raise JiraFailure("unreachable", f"The request to Jira failed: {_short(exc)}", uncertain=uncertain) from None
        except ValueError as exc:
            # The library raises ValueError for an answer that is not JSON and for a
            # non-integer Retry-After when its own retries are on.
            raise JiraFailure("bad_response", f"Jira's answer could not be read: {exc}", uncertain=uncertain) from None

    def server_time(self) -> datetime | None:
        """Jira's clock now (serverInfo's serverTime), in Jira's offset; None if it does not say."""
        info = self._call(self.jira.server_info, uncertain=False)
        return parse_jira_time(info.get("serverTime")) if isinstance(info, dict) else None

    # -- users --------------------------------------------------------------------------
    def find_user(self, email: str) -> JiraUser | None:
        """The Jira user with this email (Cloud: `query=`, Server: `username=`), or None."""
        key = email.lower()
        if key in self._users:
            return self._users[key]
        if self.cloud:
            found = self._call(self.jira.search_users, query=email, maxResults=20, uncertain=False)
        else:
            found = self._call(self.jira.search_users, user=email, maxResults=20, uncertain=False)
        users = [_user(u.raw) for u in found]
        exact = [u for u in users if u and u.email and u.email.lower() == key]
        result = exact[0] if exact else (users[0] if len(users) == 1 else None)
        self._users[key] = result
        return result

    # -- issues -------------------------------------------------------------------------
    def create_issue(self, fields: IssueFields) -> JiraIssue:
        """Create an issue in the configured project; a lost answer raises with uncertain=True."""
        rest = {
            "project": {"key": self.config.project},
            "issuetype": {"name": self.config.issue_type},
            **fields.as_rest(self.cloud),
        }
        created = self._call(self.jira.create_issue, fields=rest, prefetch=False, uncertain=True)
        try:
            return self.get_issue(created.key)
        except JiraFailure as failure:
            # The issue exists: say which, so the next attempt updates it instead of creating another.
            failure.created_key, failure.created_id = created.key, str(created.id)
            raise

    def get_issue(self, key: str) -> JiraIssue:
        """The issue as Jira has it now; JiraFailure("not_found") if it is gone."""
        issue = self._call(self.jira.issue, key, uncertain=False)
        self._resources[key] = issue
        return issue_from_raw(issue.raw)

    def update_issue(self, key: str, fields: IssueFields) -> JiraIssue:
        """Set the given fields (one PUT, then the library reads the issue back) and return it."""
        issue = self._resources.get(key) or self._call(self.jira.issue, key, uncertain=False)
        rest = fields.as_rest(self.cloud)
        if rest:
            self._call(issue.update, fields=rest, uncertain=True)
        self._resources[key] = issue
        return issue_from_raw(issue.raw)

    def move_to_category(self, key: str, category: str) -> bool:
        """Move the issue along a workflow transition to a status of `category`.

        Returns False when the issue is already there; raises JiraFailure("rejected") when the
        workflow has no transition from the current status to that category.
        """
        transitions = self._call(self.jira.transitions, key, uncertain=False)
        chosen = None
        for transition in transitions:
            to = transition.get("to") or {}
            if (to.get("statusCategory") or {}).get("key") == category:
                chosen = transition
                break
        if chosen is None:
            names = ", ".join(t.get("name", "?") for t in transitions) or "none"
            raise JiraFailure(
                "rejected",
                f"Jira's workflow offers no transition of {key} to a '{category}' status (available: {names}).",
            )
        self._call(self.jira.transition_issue, key, str(chosen["id"]), uncertain=True)
        return True

    def find_by_label(self, label: str) -> JiraIssue | None:
        """The issue carrying `label` in the project, if any (finds a create whose answer was lost)."""
        jql = f"project = {jql_quote(self.config.project)} AND labels = {jql_quote(label)} ORDER BY created ASC"
        issues, _ = self._search_page(jql, start_at=0, token=None, size=5)
        return issues[0] if issues else None

    def changed_since(self, label: str, since: datetime | None) -> Iterator[list[JiraIssue]]:
        """Pages of the issues with `label` updated at or after `since` (all of them if None), oldest first."""
        jql = f"project = {jql_quote(self.config.project)} AND labels = {jql_quote(label)}"
        if since is not None:
            jql += f' AND updated >= "{jql_time(since)}"'
        jql += " ORDER BY updated ASC, key ASC"
        start_at, token = 0, None
        while True:
            issues, more = self._search_page(jql, start_at=start_at, token=token, size=self.config.page_size)
            if issues:
                yield issues
            if not more:
                return
            if self.cloud:
                token = more
            else:
                start_at += len(issues)

    def _search_page(self, jql: str, *, start_at: int, token: str | None, size: int) -> tuple[list[JiraIssue], Any]:
        """One search request; returns the issues and what fetches the next page (None at the end)."""
        if self.cloud:
            answer = self._call(
                self.jira.enhanced_search_issues, jql, nextPageToken=token, maxResults=size,
                fields=list(SEARCH_FIELDS), json_result=True, uncertain=False,
            )
            issues = [issue_from_raw(raw) for raw in answer.get("issues", [])]
            following = answer.get("nextPageToken")
            more = following if following and not answer.get("isLast", False) and issues else None
            return issues, more
        answer = self._call(
            self.jira.search_issues, jql, startAt=start_at, maxResults=size,
            fields=list(SEARCH_FIELDS), json_result=True, uncertain=False,
        )
        issues = [issue_from_raw(raw) for raw in answer.get("issues", [])]
        total = int(answer.get("total") or 0)
        more = bool(issues) and start_at + len(issues) < total
        return issues, more


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


def _from_jira_error(exc: JIRAError, *, uncertain: bool) -> JiraFailure:
    status = exc.status_code
    text = (exc.text or "").strip() or "no details"
    if status is None:
        return JiraFailure("bad_response", f"Jira's answer was not usable: {text}", uncertain=uncertain)
    if status == 429:
        headers = exc.response.headers if exc.response is not None else {}
        retry_after = retry_after_seconds(headers.get("Retry-After"))
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return JiraFailure("rate_limited", f"Jira is rate limiting (429){wait}", status=429, retry_after=retry_after)
    if status >= 500:
        headers = exc.response.headers if exc.response is not None else {}
        retry_after = retry_after_seconds(headers.get("Retry-After")) if status == 503 else None
        # A 5xx may come from a proxy after Jira applied the request.
        return JiraFailure("server_error", f"Jira failed with {status}: {_short(text)}", status=status,
                           retry_after=retry_after, uncertain=uncertain)
    if status == 404:
        return JiraFailure("not_found", f"Jira answered 404: {_short(text)}", status=404)
    return JiraFailure("rejected", f"Jira refused the request ({status}): {_short(text)}", status=status)


def backoff_seconds(attempts: int, *, base: float, cap: float, rand: float) -> float:
    """Exponential backoff with jitter: base·2^(attempts-1), capped, times `rand` in [0.5, 1]."""
    return min(cap, base * (2 ** max(0, attempts - 1))) * rand


__all__ = [
    "CATEGORIES", "IssueFields", "JiraClient", "JiraConfig", "JiraFailure", "JiraIssue", "JiraUser",
    "backoff_seconds", "issue_from_raw", "jql_time", "parse_jira_time", "retry_after_seconds",
]
