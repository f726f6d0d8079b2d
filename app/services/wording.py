"""The service catalogue's codes said for people (see app/core/wording.py)."""

from __future__ import annotations

from app.core.wording import says

says("unknown_service", lambda error, _facts: (
    f"{_names(error.extra.get('unknown', []))} not in the service catalogue: pick services from the list, "
    "or add them on the Services page first."
))
says("service_exists", "A service with this name is already in the catalogue: pick another name.")
says("team_exists", "A team with this name already exists.")


def _names(names: list[str]) -> str:
    if len(names) == 1:
        return f"“{names[0]}” is"
    return ", ".join(f"“{name}”" for name in names[:-1]) + f" and “{names[-1]}” are"
