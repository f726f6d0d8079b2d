"""board_owner_index: "mine" on the action-item board reads the viewer's items in due-date order from an index.

The board reads a page overdue first, then by due date, as walks of the items in due-date order
(app/actions/board.py). For one owner's items, (owner_id, due_date, id) walks only theirs instead
of every item to find the owner's among them.

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_action_items_owner_due_id", "action_items", ["owner_id", "due_date", "id"])


def downgrade() -> None:
    op.drop_index("ix_action_items_owner_due_id", table_name="action_items")
