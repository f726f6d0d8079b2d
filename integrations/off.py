"""An outside system that is not configured is off: said once per process, never an error on every call."""

from __future__ import annotations

import logging

# The systems already said to be off in this process.
_said: set[str] = set()


def say_off_once(logger: logging.Logger, name: str, message: str) -> None:
    """Log `message` at INFO on `logger` the first time `name` (e.g. "jira") is found off."""
    if name not in _said:
        _said.add(name)
        logger.info(message)
