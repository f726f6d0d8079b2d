"""The HTML pages' edge: one transaction a request, committed once when the view has answered.

A view decorated with `page` works in the request's session (`app.db.get_session`) and
commits nothing itself. When the view returns (a page, a redirect, or a form shown again
with its errors), its changes are committed and the after-commit callbacks run; when it
raises, nothing of it is kept (the session is rolled back at teardown), except the failure
an `OutsideFailure` recorded on its row. A view that shows an error instead of raising
rolls back what it must not keep before it answers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g

from app.core.errors import OutsideFailure
from app.db import commit, get_session


def page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an HTML view: see the module docstring."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = view(*args, **kwargs)
        except OutsideFailure:
            _commit_if_open()  # the failure recorded on its row stays for everyone to see
            raise
        _commit_if_open()
        return result

    wrapper.page_edge = True  # type: ignore[attr-defined]
    return wrapper


def _commit_if_open() -> None:
    if "db_session" in g:
        commit(get_session())
