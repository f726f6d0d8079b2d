"""HTML pages of the actions domain: the action items you may see, and one item with its history."""

from __future__ import annotations

from flask import Blueprint, g, render_template_string, request

from app.actions import service
from app.db import get_session
from app.extensions import settings
from app.incidents.pages import login_required

bp = Blueprint("actions_pages", __name__)

# Inline templates: the pages are small and extend the shared layout.
LIST = """{% extends "pages/base.html" %}{% block title %}Action items{% endblock %}
{% block content %}<h1>Action items</h1>
<p class="muted">{{ total }} item{{ "" if total == 1 else "s" }}{% if overdue %}, overdue only{% endif %} ·
<a href="?overdue=true">overdue</a> · <a href="?">all</a></p>
<table><tr><th>Title</th><th>Owner</th><th>Due</th><th>Status</th><th>Jira</th></tr>
{% for item in items %}<tr>
<td><a href="{{ url_for('actions_pages.item', item_id=item.id) }}">{{ item.title }}</a>{% if item.oversized %} <span class="badge SEV1">oversized</span>{% endif %}</td>
<td>{{ item.owner.name }}</td><td>{{ item.due_date }}</td><td>{{ item.status }}</td>
<td>{{ item.jira_key or "" }} <span class="muted">{{ item.sync_status }}</span></td></tr>
{% else %}<tr><td colspan="5" class="muted">No action items.</td></tr>{% endfor %}</table>
{% if next_cursor %}<p><a href="?cursor={{ next_cursor }}{% if overdue %}&overdue=true{% endif %}">Next page</a></p>{% endif %}
{% endblock %}"""

ITEM = """{% extends "pages/base.html" %}{% block title %}{{ item.title }}{% endblock %}
{% block content %}<h1>{{ item.title }}</h1>
{% if item.oversized %}<div class="warning">Due more than {{ max_weeks }} weeks away: split it into smaller items
(POST /api/v1/action-items/{{ item.id }}/split).</div>{% endif %}
{% if item.sync_status == "failed" %}<div class="error">Jira sync failed: {{ item.last_sync_error }}</div>{% endif %}
<div class="card grid">
<div><div class="muted">Owner</div>{{ item.owner.name }} &lt;{{ item.owner.email }}&gt;</div>
<div><div class="muted">Due</div>{{ item.due_date }}</div>
<div><div class="muted">Status</div>{{ item.status }}</div>
<div><div class="muted">Priority</div>{{ item.priority }}</div>
<div><div class="muted">Jira</div>{{ item.jira_key or "not yet" }} ({{ item.sync_status }})</div>
<div><div class="muted">Incident</div><a href="{{ url_for('incident_pages.incident', incident_id=item.retrospective.incident_id) }}">#{{ item.retrospective.incident_id }}</a></div>
</div>
{% if item.description %}<div class="card">{{ item.description }}</div>{% endif %}
<h2>History</h2>
<table><tr><th>When</th><th>What</th><th>From</th><th>To</th><th>Via</th><th>Who</th><th></th></tr>
{% for c in changes %}<tr><td>{{ c.at | localtime }}</td><td>{{ c.field }}</td><td>{{ c.old or "" }}</td>
<td>{{ c.new or "" }}</td><td>{{ c.via }}</td><td>{{ c.actor.email if c.actor else (c.actor_label or "") }}</td>
<td class="muted">{{ c.note or "" }}</td></tr>{% endfor %}</table>
{% endblock %}"""


@bp.get("/action-items")
@login_required
def items():
    """The action items the user may see, by due date."""
    overdue = request.args.get("overdue") == "true"
    found, total, next_cursor = service.list_items(
        get_session(), viewer=g.user, settings=settings(), overdue=True if overdue else None,
        cursor=request.args.get("cursor") or None,
    )
    return render_template_string(LIST, items=found, total=total, next_cursor=next_cursor, overdue=overdue)


@bp.get("/action-items/<int:item_id>")
@login_required
def item(item_id: int):
    """One action item with its whole history."""
    session = get_session()
    found = service.get_item(session, viewer=g.user, item_id=item_id)
    return render_template_string(ITEM, item=found, changes=service.history(session, item=found),
                                  max_weeks=settings().action_items.max_weeks)
