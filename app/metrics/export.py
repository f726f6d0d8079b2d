"""The metrics as CSV: the same figures as the JSON answer, one a row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from app.metrics.schemas import Figures, Metrics

HEADER = ("section", "group", "figure", "value")


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    else:
        yield prefix, value


def _figures(section: str, group: str, figures: Figures) -> Iterator[tuple[str, str, str, Any]]:
    data = figures.model_dump(mode="json", include={"incidents", "retrospectives", "action_items"})
    for figure, value in _flatten("", data):
        yield section, group, figure, value


def metrics_rows(result: Metrics) -> Iterator[tuple[str, str, str, Any]]:
    """(section, group, figure, value): the period first, then overall, each severity, each month, then the
    figures across incidents (section "across"), each service (group: its name), each factor category (group:
    its key) and each team (group: its name).

    A figure is the dotted path of the JSON answer's field (`retrospectives.by_status.pending`); an empty
    value is null (no retro held, so no median).
    """
    period = result.model_dump(mode="json", include={"since", "until", "as_of", "timezone"})
    for name in ("since", "until", "as_of", "timezone"):
        yield "period", "", name, period[name]
    yield from _figures("overall", "", result)
    for severity, figures in result.by_severity.items():
        yield from _figures("severity", severity, figures)
    for month in result.by_month:
        yield from _figures("month", month.month, month)
    across = result.across
    for name in ("hours_lost", "repeat_incidents"):
        yield "across", "", name, getattr(across, name)
    for section, key, groups in (("service", "service", across.by_service), ("factor", "category", across.by_factor),
                                 ("team", "team", across.by_team)):
        for group in groups:
            for figure, value in _flatten("", group.model_dump(mode="json", exclude={key})):
                yield section, getattr(group, key), figure, value


def metrics_csv(result: Metrics) -> str:
    """The figures of `result` as CSV text with the header section,group,figure,value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for section, group, figure, value in metrics_rows(result):
        writer.writerow((section, group, figure, "" if value is None else value))
    return out.getvalue()
