"""The insights page: the metrics of a period, in words, as charts with their numbers, and as CSV and JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Optional

from flask import Blueprint, Response, g, render_template, request

from app.auth.pages import login_required
from app.core.dates import org_today
from app.core.pages import page
from app.db import get_session
from app.extensions import settings
from app.metrics.export import metrics_csv
from app.metrics.schemas import AGE_BUCKETS, Metrics
from app.metrics.service import compute_metrics

bp = Blueprint("metrics_pages", __name__)

PRESETS = {"30d": "Last 30 days", "90d": "Last 90 days", "quarter": "Last quarter", "year": "This year"}


def _preset(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if name == "30d":
        return today - dt.timedelta(days=29), today
    if name == "year":
        return dt.date(today.year, 1, 1), today
    if name == "quarter":
        first_this = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        last_prev = first_this - dt.timedelta(days=1)
        return dt.date(last_prev.year, 3 * ((last_prev.month - 1) // 3) + 1, 1), last_prev
    return today - dt.timedelta(days=89), today


def _day(text: str) -> Optional[dt.date]:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if 1970 <= day.year <= 2999 else None


def period_from(args, today: dt.date) -> tuple[str, dt.date, dt.date, Optional[str]]:
    """(preset or "custom", since, until, a problem in words or None) from the query string."""
    since_text, until_text = args.get("since", "").strip(), args.get("until", "").strip()
    if since_text or until_text:
        since, until = _day(since_text), _day(until_text)
        if since is None or until is None:
            fallback = _preset("90d", today)
            return "custom", fallback[0], fallback[1], "Give both dates of the period as real days (From and To)."
        if since > until:
            fallback = _preset("90d", today)
            return "custom", fallback[0], fallback[1], "The period ends before it starts: the To date must not be before the From date."
        return "custom", since, until, None
    name = args.get("period", "90d")
    if name not in PRESETS:
        name = "90d"
    since, until = _preset(name, today)
    return name, since, until, None


def hours_in_words(hours: Optional[float]) -> str:
    """48.5 → "2 days 0 hours"; None → "no retro held"."""
    if hours is None:
        return "no retro held yet"
    whole = int(round(hours))
    days, rest = divmod(whole, 24)
    hour_words = f"{rest} hour{'s' if rest != 1 else ''}"
    return f"{days} day{'s' if days != 1 else ''} {hour_words}" if days else hour_words


def share_in_words(share: Optional[float]) -> str:
    """0.78 → "78%"; None → "no retro due yet"."""
    return "no retro due yet" if share is None else f"{round(share * 100)}%"


OVERRIDE_LABELS = {"retro_past_deadline": "Retro booked past its deadline",
                   "spectator_not_allowed": "Someone outside the incident invited to the retro",
                   "facilitator_involved": "Facilitator involved in the incident"}


def _figures(since: dt.date, until: dt.date) -> Metrics:
    return compute_metrics(get_session(), viewer=g.user, since=since, until=until, settings=settings())


@bp.get("/insights")
@page
@login_required
def insights():
    """The figures of the chosen period (last 90 days unless the URL says otherwise)."""
    name, since, until, problem = period_from(request.args, org_today(settings()))
    result = _figures(since, until)
    html = render_template("pages/insights.html", m=result, preset=name, presets=PRESETS, since=since,
                           until=until, problem=problem, buckets=AGE_BUCKETS, hours=hours_in_words,
                           share=share_in_words, override_labels=OVERRIDE_LABELS,
                           typed={"since": request.args.get("since", ""), "until": request.args.get("until", "")})
    return html, (422 if problem else 200)


@bp.get("/insights.csv")
@page
@login_required
def insights_csv():
    """The same figures as CSV, for the same period and viewer."""
    return _download("csv", "text/csv", metrics_csv)


@bp.get("/insights.json")
@page
@login_required
def insights_json():
    """Every figure of the page as JSON (the API's answer), for the same period and viewer."""
    return _download("json", "application/json", lambda figures: figures.model_dump_json(indent=2))


def _download(extension: str, mimetype: str, write: Callable[[Metrics], str]) -> Response:
    _, since, until, problem = period_from(request.args, org_today(settings()))
    if problem:
        return Response(problem + "\n", status=422, mimetype="text/plain")
    return Response(write(_figures(since, until)), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="hindsight-insights-{since}-to-{until}.{extension}"'})


def month_label(month: str) -> str:
    """"2026-11" → "Nov 2026"."""
    return dt.date.fromisoformat(month + "-01").strftime("%b %Y")


bp.add_app_template_filter(month_label, "month_label")
bp.add_app_template_filter(hours_in_words, "hours_in_words")
bp.add_app_template_filter(share_in_words, "share_in_words")
