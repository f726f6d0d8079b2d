"""board_indexes: the action-item board reads its first page by due date or by last change from an index.

Overdue first, then by due date, is read as two walks of (due_date, id) that stop after a page;
"last changed first" walks (updated_at, id) backwards. Without them the board sorts every visible
item for each page.

Revision ID: 0010
Revises: 0006
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_action_items_due_date_id", "action_items", ["due_date", "id"])
    op.create_index("ix_action_items_updated_at_id", "action_items", ["updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_action_items_updated_at_id", table_name="action_items")
    op.drop_index("ix_action_items_due_date_id", table_name="action_items")
