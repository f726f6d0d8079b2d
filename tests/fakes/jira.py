"""A Jira stand-in: a real HTTP server on loopback speaking the REST v2 endpoints the `jira` library calls.

Issues live in memory; every request is logged so tests can count them; and the server can be
told to fail: stop listening (connections refused), answer 500/503 or 429 with Retry-After, or
hang past the client's timeout, optionally after applying the request (a create whose answer is lost).
See /work/shared/PROTOCOLS.md for the shapes it answers with.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

STATUSES = {
    "1": {"id": "1", "name": "To Do", "statusCategory": {"id": 2, "key": "new", "name": "To Do"}},
    "3": {"id": "3", "name": "In Progress", "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"}},
    "10001": {"id": "10001", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
}
TRANSITIONS = {"11": ("Back to To Do", "1"), "21": ("Start Progress", "3"), "31": ("Done", "10001")}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
ISSUE_TYPES = ("Task", "Bug", "Story")
FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "clauseNames": ["summary"], "schema": {"type": "string", "system": "summary"}},
    {"id": "description", "name": "Description", "custom": False, "clauseNames": ["description"], "schema": {"type": "string", "system": "description"}},
    {"id": "duedate", "name": "Due date", "custom": False, "clauseNames": ["due", "duedate"], "schema": {"type": "date", "system": "duedate"}},
    {"id": "labels", "name": "Labels", "custom": False, "clauseNames": ["labels"], "schema": {"type": "array", "items": "string", "system": "labels"}},
    {"id": "updated", "name": "Updated", "custom": False, "clauseNames": ["updated", "updatedDate"], "schema": {"type": "datetime", "system": "updated"}},
    {"id": "priority", "name": "Priority", "custom": False, "clauseNames": ["priority"], "schema": {"type": "priority", "system": "priority"}},
    {"id": "status", "name": "Status", "custom": False, "clauseNames": ["status"], "schema": {"type": "status", "system": "status"}},
    {"id": "assignee", "name": "Assignee", "custom": False, "clauseNames": ["assignee"], "schema": {"type": "user", "system": "assignee"}},
]
FAILURE_KINDS = ("500", "503", "429", "429-date", "429-bad", "timeout", "timeout_after_apply", "reset")


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    failure: str | None = None


@dataclass
class PlannedFailure:
    kind: str
    method: str | None = None
    path: str | None = None  # a regex searched in the path
    times: int = 1


@dataclass
class FakeJira:
    """Start with `start()` (or as a context manager); `url` is the base URL to configure."""

    deployment: str = "Server"
    project: str = "HS"
    credentials: tuple[str, str] | None = ("bot@example.com", "api-token")
    hang_seconds: float = 2.0
    retry_after: str = "1"
    max_results: int = 100
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    required_fields: set[str] = field(default_factory=set)
    failure_rate: float = 0.0
    random_kinds: tuple[str, ...] = ("500", "429", "timeout_after_apply")
    clock_offset: timedelta = timedelta(0)
    port: int = 0  # 0: any free port

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.planned: list[PlannedFailure] = []
        self.rng = random.Random(1234)
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = self.port
        self._next_id = 10000
        self._last_stamp: datetime | None = None
        self._held: tuple[str, str, threading.Event, threading.Event] | None = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def cloud(self) -> bool:
        return self.deployment == "Cloud"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FakeJira:
        self.start_listening()
        return self

    def start_listening(self) -> None:
        """Listen (again, on the same port after stop_listening)."""
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()

    def stop_listening(self) -> None:
        """Close the socket: new connections are refused until start_listening()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self._release.set()
        self.stop_listening()

    def __enter__(self) -> FakeJira:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # -- failures -----------------------------------------------------------------------
    def fail(self, kind: str, *, method: str | None = None, path: str | None = None, times: int = 1) -> None:
        """Fail the next `times` matching requests with `kind` (one of FAILURE_KINDS)."""
        assert kind in FAILURE_KINDS, kind
        with self.lock:
            self.planned.append(PlannedFailure(kind, method, path, times))

    def hold(self, method: str, path: str) -> tuple[threading.Event, threading.Event]:
        """Keep the next request matching `method` and `path` (a regex) waiting, as a slow Jira would.

        Returns (arrived, release): `arrived` is set when the request comes in; it is answered
        normally once `release` is set.
        """
        arrived, release = threading.Event(), threading.Event()
        with self.lock:
            self._held = (method, path, arrived, release)
        return arrived, release

    def _wait_if_held(self, method: str, path: str) -> None:
        with self.lock:
            held = self._held
            if held is None or held[0] != method or not re.search(held[1], path):
                return
            self._held = None
        held[2].set()
        held[3].wait(10)

    def _take_failure(self, method: str, path: str) -> str | None:
        with self.lock:
            for planned in self.planned:
                if (planned.method is None or planned.method == method) and (
                    planned.path is None or re.search(planned.path, path)
                ):
                    planned.times -= 1
                    if planned.times <= 0:
                        self.planned.remove(planned)
                    return planned.kind
            if self.failure_rate and path != "/rest/api/2/serverInfo" and self.rng.random() < self.failure_rate:
                return self.rng.choice(self.random_kinds)
        return None

    # -- users and clock ----------------------------------------------------------------
    def add_user(self, email: str, *, name: str | None = None, account_id: str | None = None,
                 display_name: str | None = None, hide_email: bool = False) -> dict[str, Any]:
        """A user: Server users have name and key, Cloud users an accountId (email maybe hidden)."""
        name = name or email.split("@")[0]
        user = {
            "name": name, "key": name, "accountId": account_id or f"acc-{hashlib.sha1(email.encode()).hexdigest()[:12]}",
            "emailAddress": email, "displayName": display_name or name.title(), "active": True,
            "hide_email": hide_email,
        }
        with self.lock:
            self.users.append(user)
        return user

    def user_json(self, user: dict[str, Any] | None) -> dict[str, Any] | None:
        if user is None:
            return None
        out: dict[str, Any] = {"displayName": user["displayName"], "active": True}
        if self.cloud:
            out["accountId"] = user["accountId"]
            out["self"] = f"{self.url}/rest/api/2/user?accountId={user['accountId']}"
            if not user["hide_email"]:
                out["emailAddress"] = user["emailAddress"]
        else:
            out.update(name=user["name"], key=user["key"], emailAddress=user["emailAddress"])
            out["self"] = f"{self.url}/rest/api/2/user?username={user['name']}"
        return out

    def find_user(self, *, email: str | None = None, ident: str | None = None) -> dict[str, Any] | None:
        with self.lock:
            for user in self.users:
                if email and user["emailAddress"].lower() == email.lower():
                    return user
                if ident and ident == (user["accountId"] if self.cloud else user["name"]):
                    return user
        return None

    def now(self) -> datetime:
        """The stand-in's clock: strictly increasing, millisecond precision."""
        with self.lock:
            moment = datetime.now(timezone.utc) + self.clock_offset
            stamp = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            if self._last_stamp is not None and stamp <= self._last_stamp:
                stamp = self._last_stamp + timedelta(milliseconds=1)
            self._last_stamp = stamp
            return stamp

    @staticmethod
    def stamp(moment: datetime) -> str:
        moment = moment.astimezone(timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"

    # -- reading ------------------------------------------------------------------------
    def count(self, method: str | None = None, path: str | None = None, *, failed: bool | None = None) -> int:
        """Requests received matching method and path regex (`failed`: only failed / only answered)."""
        with self.lock:
            return sum(
                1 for entry in self.log
                if (method is None or entry.method == method)
                and (path is None or re.search(path, entry.path))
                and (failed is None or (entry.failure is not None) == failed)
            )

    def issue_by_label(self, label: str) -> list[dict[str, Any]]:
        with self.lock:
            return [i for i in self.issues.values() if label in i["fields"]["labels"]]

    def issue(self, key: str) -> dict[str, Any]:
        with self.lock:
            return self.issues[key]

    # -- changes made "by a Jira user" --------------------------------------------------
    def change(self, key: str, *, at: datetime | None = None, by: str = "jira.user@example.com",
               duedate: date | None | str = "unchanged", assignee: str | None = "unchanged",
               status: str | None = None, summary: str | None = None) -> dict[str, Any]:
        """Change an issue as a person in Jira would; returns the `jira:issue_updated` webhook payload.

        `assignee` is an email (None unassigns), `status` a status category key.
        """
        with self.lock:
            issue = self.issues[key]
            fields = issue["fields"]
            items = []
            if duedate != "unchanged":
                new = duedate.isoformat() if isinstance(duedate, date) else duedate
                items.append({"field": "duedate", "fieldtype": "jira", "fieldId": "duedate",
                              "from": fields["duedate"], "fromString": fields["duedate"], "to": new, "toString": new})
                fields["duedate"] = new
            if assignee != "unchanged":
                user = self.find_user(email=assignee) if assignee else None
                if assignee and user is None:
                    raise KeyError(f"no user {assignee} in the stand-in")
                old = fields["assignee"]
                fields["assignee"] = self.user_json(user)
                ident = (lambda u: None if u is None else (u.get("accountId") if self.cloud else u.get("name")))
                items.append({"field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
                              "from": ident(old), "fromString": (old or {}).get("displayName"),
                              "to": ident(fields["assignee"]), "toString": (fields["assignee"] or {}).get("displayName")})
            if status is not None:
                target = next(s for s in STATUSES.values() if s["statusCategory"]["key"] == status)
                items.append({"field": "status", "fieldtype": "jira", "fieldId": "status",
                              "from": fields["status"]["id"], "fromString": fields["status"]["name"],
                              "to": target["id"], "toString": target["name"]})
                fields["status"] = dict(target)
            if summary is not None:
                items.append({"field": "summary", "fieldtype": "jira", "fieldId": "summary",
                              "from": None, "fromString": fields["summary"], "to": None, "toString": summary})
                fields["summary"] = summary
            moment = at or self.now()
            fields["updated"] = self.stamp(moment)
            actor = self.find_user(email=by)
            return {
                "timestamp": int(moment.timestamp() * 1000),
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_generic",
                "user": self.user_json(actor) or {"displayName": by},
                "issue": json.loads(json.dumps(issue)),
                "changelog": {"id": str(self.rng.randrange(10**6, 10**7)), "items": items},
            }

    @staticmethod
    def sign(body: bytes, secret: str) -> str:
        """The X-Hub-Signature header value Jira sends for `body`."""
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    # -- the REST endpoints -------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: (status, JSON body or None, extra headers)."""
        if path.startswith("/rest/api/latest/"):
            path = "/rest/api/2/" + path[len("/rest/api/latest/"):]
        routes = [
            ("GET", r"/rest/api/2/serverInfo", self._server_info),
            ("GET", r"/rest/api/2/field", lambda q, b: (200, FIELDS, {})),
            ("GET", r"/rest/api/2/myself", lambda q, b: (200, self.user_json(self.users[0]) if self.users else {}, {})),
            ("POST", r"/rest/api/2/issue", self._create),
            ("GET", r"/rest/api/2/user/search", self._user_search),
            ("GET", r"/rest/api/2/search", self._search_server),
            ("GET", r"/rest/api/2/search/jql", self._search_cloud),
            ("GET", r"/rest/api/2/issue/([^/]+)", self._get),
            ("PUT", r"/rest/api/2/issue/([^/]+)", self._update),
            ("PUT", r"/rest/api/2/issue/([^/]+)/assignee", self._assign),
            ("GET", r"/rest/api/2/issue/([^/]+)/transitions", self._transitions),
            ("POST", r"/rest/api/2/issue/([^/]+)/transitions", self._transition),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.lock:
                    return handler(query, body, *match.groups())  # type: ignore[operator]
        return 404, {"errorMessages": [f"No route {method} {path}"], "errors": {}}, {}

    def _server_info(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        cloud = self.cloud
        return 200, {
            "baseUrl": self.url, "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.0",
            "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 0],
            "deploymentType": "Cloud" if cloud else "Server", "buildNumber": 100000,
            "serverTitle": "Jira stand-in", "serverTime": self.stamp(self.now()),
        }, {}

    def _find(self, ident: str) -> dict[str, Any] | None:
        if ident in self.issues:
            return self.issues[ident]
        return next((i for i in self.issues.values() if i["id"] == ident), None)

    def _not_found(self) -> tuple[int, Any, dict[str, str]]:
        return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}, {}

    def _apply_fields(self, issue: dict[str, Any], given: dict[str, Any]) -> dict[str, str]:
        """Set fields from a create/edit body; returns Jira-style field errors."""
        errors: dict[str, str] = {}
        fields = issue["fields"]
        for name, value in given.items():
            if name in ("project", "issuetype"):
                continue
            if name == "summary":
                if not isinstance(value, str) or not value.strip():
                    errors["summary"] = "You must specify a summary of the issue."
                elif "\n" in value:
                    errors["summary"] = "The summary is invalid because it contains newline characters."
                else:
                    fields["summary"] = value
            elif name == "duedate":
                try:
                    fields["duedate"] = date.fromisoformat(value).isoformat() if value else None
                except (TypeError, ValueError):
                    errors["duedate"] = "Error parsing date string: " + str(value)
            elif name == "assignee":
                if value is None:
                    fields["assignee"] = None
                    continue
                ident = value.get("accountId") if self.cloud else value.get("name")
                user = self.find_user(ident=ident) if ident else None
                if user is None:
                    errors["assignee"] = f"User '{ident}' does not exist."
                else:
                    fields["assignee"] = self.user_json(user)
            elif name == "priority":
                priority = (value or {}).get("name")
                if priority not in PRIORITIES:
                    errors["priority"] = f"Priority name '{priority}' is not valid"
                else:
                    fields["priority"] = {"id": PRIORITIES[priority], "name": priority}
            elif name == "labels":
                if not isinstance(value, list) or any(" " in str(label) for label in value):
                    errors["labels"] = "Labels may not contain spaces."
                else:
                    fields["labels"] = list(value)
            else:
                fields[name] = value
        return errors

    def _create(self, query: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        given = (body or {}).get("fields") or {}
        errors: dict[str, str] = {}
        if (given.get("project") or {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if (given.get("issuetype") or {}).get("name") not in ISSUE_TYPES:
            errors["issuetype"] = "valid issue type is required"
        if "summary" not in given:
            errors["summary"] = "You must specify a summary of the issue."
        for name in self.required_fields:
            if name not in given:
                errors[name] = f"{name} is required."
        self._next_id += 1
        number = self._next_id - 10000
        key = f"{self.project}-{number}"
        stamp = self.stamp(self.now())
        issue = {
            "id": str(self._next_id), "key": key, "self": f"{self.url}/rest/api/2/issue/{self._next_id}",
            "fields": {
                "summary": "", "description": None, "duedate": None, "labels": [], "created": stamp,
                "updated": stamp, "priority": {"id": "3", "name": "Medium"}, "status": dict(STATUSES["1"]),
                "assignee": None, "issuetype": {"name": (given.get("issuetype") or {}).get("name")},
                "project": {"key": self.project},
            },
        }
        errors.update(self._apply_fields(issue, given))
        if errors:
            self._next_id -= 1
            return 400, {"errorMessages": [], "errors": errors}, {}
        self.issues[key] = issue
        return 201, {"id": issue["id"], "key": key, "self": issue["self"]}, {}

    def _get(self, query: Any, body: Any, ident: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(ident)
        return (200, issue, {}) if issue else self._not_found()

    def _update(self, query: Any, body: Any, ident: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(ident)
        if issue is None:
            return self._not_found()
        given = (body or {}).get("fields") or {}
        snapshot = json.loads(json.dumps(issue["fields"]))
        errors = self._apply_fields(issue, given)
        if errors:
            issue["fields"] = snapshot
            return 400, {"errorMessages": [], "errors": errors}, {}
        issue["fields"]["updated"] = self.stamp(self.now())
        return 204, None, {}

    def _assign(self, query: Any, body: Any, ident: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(ident)
        if issue is None:
            return self._not_found()
        errors = self._apply_fields(issue, {"assignee": body})
        if errors:
            return 400, {"errorMessages": [], "errors": errors}, {}
        issue["fields"]["updated"] = self.stamp(self.now())
        return 204, None, {}

    def _transitions(self, query: Any, body: Any, ident: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(ident)
        if issue is None:
            return self._not_found()
        current = issue["fields"]["status"]["id"]
        out = [
            {"id": tid, "name": name, "to": STATUSES[to]}
            for tid, (name, to) in TRANSITIONS.items() if to != current
        ]
        return 200, {"expand": "transitions", "transitions": out}, {}

    def _transition(self, query: Any, body: Any, ident: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._find(ident)
        if issue is None:
            return self._not_found()
        tid = str(((body or {}).get("transition") or {}).get("id"))
        if tid not in TRANSITIONS or TRANSITIONS[tid][1] == issue["fields"]["status"]["id"]:
            return 400, {"errorMessages": [f"Transition id '{tid}' is not valid for this issue."], "errors": {}}, {}
        issue["fields"]["status"] = dict(STATUSES[TRANSITIONS[tid][1]])
        issue["fields"]["updated"] = self.stamp(self.now())
        return 204, None, {}

    def _user_search(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        term = (query.get("query") if self.cloud else query.get("username")) or [""]
        needle = term[0].lower()
        if not needle:
            return 400, {"errorMessages": ["The username query parameter was not provided"], "errors": {}}, {}
        found = [
            self.user_json(u) for u in self.users
            if needle in u["emailAddress"].lower() or needle in u["displayName"].lower()
            or (not self.cloud and needle in u["name"].lower())
        ]
        return 200, found, {}

    def _matching(self, jql: str) -> list[dict[str, Any]] | str:
        """The issues a (small subset of) JQL selects, ordered; or an error message."""
        text = jql.strip()
        order = "updated"
        match = re.search(r"\s+ORDER\s+BY\s+(.*)$", text, re.IGNORECASE)
        if match:
            order = match.group(1).split(",")[0].split()[0].lower()
            text = text[: match.start()]
        predicates = []
        for clause in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE) if text else []:
            clause = clause.strip()
            if m := re.fullmatch(r'project\s*=\s*"?([^"]+?)"?', clause, re.IGNORECASE):
                key = m.group(1)
                predicates.append(lambda i, key=key: i["fields"]["project"]["key"] == key)
            elif m := re.fullmatch(r'labels\s*=\s*"?([^"]+?)"?', clause, re.IGNORECASE):
                label = m.group(1)
                predicates.append(lambda i, label=label: label in i["fields"]["labels"])
            elif m := re.fullmatch(r"labels\s+in\s*\((.*)\)", clause, re.IGNORECASE):
                labels = {part.strip().strip('"') for part in m.group(1).split(",")}
                predicates.append(lambda i, labels=labels: bool(labels & set(i["fields"]["labels"])))
            elif m := re.fullmatch(r'updated\s*>=\s*"(\d{4}/\d{2}/\d{2} \d{2}:\d{2})"', clause, re.IGNORECASE):
                since = datetime.strptime(m.group(1), "%Y/%m/%d %H:%M").replace(tzinfo=timezone.utc)
                predicates.append(
                    lambda i, since=since: datetime.strptime(i["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z") >= since
                )
            else:
                return f"Error in the JQL Query: cannot parse '{clause}'."
        found = [i for i in self.issues.values() if all(p(i) for p in predicates)]
        if order == "created":
            found.sort(key=lambda i: int(i["id"]))
        else:
            found.sort(key=lambda i: (i["fields"]["updated"], int(i["id"])))
        return found

    def _page_size(self, query: dict[str, list[str]]) -> int:
        return max(0, min(int((query.get("maxResults") or ["50"])[0]), self.max_results))

    def _search_server(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        if self.cloud:
            return 410, {"errorMessages": ["The requested API has been removed. Please use /rest/api/2/search/jql."], "errors": {}}, {}
        found = self._matching((query.get("jql") or [""])[0])
        if isinstance(found, str):
            return 400, {"errorMessages": [found], "errors": {}}, {}
        start = int((query.get("startAt") or ["0"])[0])
        size = self._page_size(query)
        return 200, {"startAt": start, "maxResults": size, "total": len(found), "issues": found[start:start + size]}, {}

    def _search_cloud(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        if not self.cloud:
            return 404, {"errorMessages": ["null for uri: /rest/api/2/search/jql"], "errors": {}}, {}
        found = self._matching((query.get("jql") or [""])[0])
        if isinstance(found, str):
            return 400, {"errorMessages": [found], "errors": {}}, {}
        token = (query.get("nextPageToken") or [""])[0]
        start = int(token[4:]) if token.startswith("page") else 0
        size = self._page_size(query)
        page = found[start:start + size]
        answer: dict[str, Any] = {"issues": page, "isLast": start + size >= len(found)}
        if not answer["isLast"]:
            answer["nextPageToken"] = f"page{start + size}"
        return 200, answer, {}


class _Handler(BaseHTTPRequestHandler):
    server_version = "JiraStandIn/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _serve(self, method: str) -> None:
        fake: FakeJira = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = Logged(method, parts.path, query, body)
        with fake.lock:
            fake.log.append(entry)
        if fake.credentials and not self._authorised(fake.credentials):
            self._answer(401, {"errorMessages": ["You are not authenticated."], "errors": {}}, {})
            return
        fake._wait_if_held(method, parts.path)
        failure = fake._take_failure(method, parts.path)
        entry.failure = failure
        if failure in ("timeout", "reset"):
            if failure == "timeout":
                fake._release.wait(fake.hang_seconds)
            self.close_connection = True
            return
        if failure in ("500", "503"):
            headers = {"Retry-After": fake.retry_after} if failure == "503" else {}
            self._answer(int(failure), {"errorMessages": ["Internal server error"], "errors": {}}, headers)
            return
        if failure and failure.startswith("429"):
            retry_after = {
                "429": fake.retry_after,
                "429-date": format_datetime(datetime.now(timezone.utc) + timedelta(seconds=int(fake.retry_after)), usegmt=True),
                "429-bad": "soon",
            }[failure]
            self._answer(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, {
                "Retry-After": retry_after, "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": (datetime.now(timezone.utc) + timedelta(seconds=60)).isoformat(),
            })
            return
        status, payload, headers = fake.handle(method, parts.path, query, body)
        if failure == "timeout_after_apply":
            fake._release.wait(fake.hang_seconds)
            self.close_connection = True
            return
        self._answer(status, payload, headers)

    def _authorised(self, credentials: tuple[str, str]) -> bool:
        import base64

        header = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        return hmac.compare_digest(header, expected) or hmac.compare_digest(header, f"Bearer {credentials[1]}")

    def _answer(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")


def label_of(issue: dict[str, Any], prefix: str = "hindsight-") -> str | None:
    return next((label for label in issue["fields"]["labels"] if label.startswith(prefix)), None)


def keys(issues: Iterable[dict[str, Any]]) -> list[str]:
    return [i["key"] for i in issues]
