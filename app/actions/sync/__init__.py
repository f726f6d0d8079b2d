"""Action items <-> Jira: push through the outbox, pull from webhooks and a JQL reconcile.

Push: a change writes an outbox row in its own transaction (service.enqueue_push). A worker
claims due rows (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, plus a compare-and-set lease
that also holds on SQLite), sends each item's current state, and deletes the row only if no
newer change arrived meanwhile. Failures back off exponentially with jitter (a 429 waits its
Retry-After) and show on the item as sync_status "failed" with the error. A create whose answer
was lost marks the row `uncertain`: the next attempt looks the issue up by its label first.

Pull: Jira's values are compared with `jira_state`, what Jira had at the last push or pull, so
our own pushes never come back as changes. A field changed on both sides goes to the later
change, by timestamp; both changes stay in the history.

The HTTP calls happen outside database transactions; each step opens its own short session.

The parts: `mapping` (an item as Jira sees it), `claiming` (the outbox lease), `pushing`,
`pulling`, `runs` and `status` (what a page shows). Their public names are importable from here.
"""

from app.actions.sync.mapping import (
    STATUS_CATEGORY, CATEGORY_STATUS, CURSOR, LAST_PULL_ERROR, SessionFactory, SyncRun, jira_config,
    log_off_once, MAX_ID, item_label, item_id_from_labels, in_project, Desired, desired_state, lock_item,
    set_state,
)
from app.actions.sync.claiming import (
    Claim, claim,
)
from app.actions.sync.pushing import (
    PushResult, push_due, push_one, record_success, record_failure,
)
from app.actions.sync.pulling import (
    jira_ident, person_for_jira_user, apply_issue, remember_jira, handle_webhook, reconcile,
)
from app.actions.sync.runs import (
    run_sync, WEBHOOK_MEMORY, IMMEDIATE_PUSH_LIMIT, IMMEDIATE_PUSH_PAUSE, PUSH_PAUSED_UNTIL, JIRA_DOWN,
    push_now, push_soon, session_factory_for,
)
from app.actions.sync.status import SyncView, sync_view
