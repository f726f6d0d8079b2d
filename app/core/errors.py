"""Domain errors: each carries the API error code and HTTP status it is answered with."""

from __future__ import annotations

from typing import Any


class HindsightError(Exception):
    """Base of every error the API answers with its JSON error shape."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        error.update(self.extra)
        return {"error": error}

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the JSON body."""
        return {}


class BadRequest(HindsightError):
    """The request itself is malformed (not JSON, not an object)."""

    status = 400
    code = "bad_request"


class ValidationFailed(HindsightError):
    """Input that parsed but is not valid; `fields` names each bad field."""

    status = 422
    code = "validation_error"


class RuleViolation(HindsightError):
    """A rule of the product refused the change (e.g. `facilitator_involved`)."""

    status = 422
    code = "rule_violation"


class NotFound(HindsightError):
    status = 404
    code = "not_found"


class Unauthorized(HindsightError):
    status = 401
    code = "unauthorized"


class TooManyAttempts(HindsightError):
    """Too many failed sign-ins or unknown tokens: wait `retry_after` seconds (429, Retry-After)."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Forbidden(HindsightError):
    status = 403
    code = "forbidden"


class InsufficientScope(Forbidden):
    """The request's API token lacks the scope this request needs (403 `insufficient_scope`).

    The error names the scope needed (`required_scope`) and the token's (`token_scope`)."""

    code = "insufficient_scope"

    def __init__(self, *, required: str, held: str, doing: str) -> None:
        super().__init__(
            f"This API token has the {held} scope; {doing} needs a token with the {required} scope.",
            extra={"required_scope": str(required), "token_scope": str(held)},
        )


class Conflict(HindsightError):
    """A stale version or a duplicate."""

    status = 409
    code = "conflict"


class OutsideFailure(HindsightError):
    """An outside system (Jira, Confluence, SMTP) failed while a request waited on it."""

    status = 502
    code = "outside_failure"
