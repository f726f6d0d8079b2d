"""actions: action item history, split links, Jira outbox and pull bookkeeping.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import app.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("jira_issue_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("jira_updated_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("jira_state", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("synced_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_action_items_parent_id_action_items"), "action_items", ["parent_id"], ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_action_items_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "action_item_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=320), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["action_item_id"], ["action_items.id"],
                                name=op.f("fk_action_item_history_action_item_id_action_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name=op.f("fk_action_item_history_actor_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_item_history")),
    )
    with op.batch_alter_table("action_item_history", schema=None) as batch_op:
        batch_op.create_index("ix_action_item_history_item_at", ["action_item_id", "at", "id"], unique=False)

    op.create_table(
        "jira_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["action_item_id"], ["action_items.id"],
                                name=op.f("fk_jira_outbox_action_item_id_action_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_outbox")),
        sa.UniqueConstraint("action_item_id", name=op.f("uq_jira_outbox_action_item_id")),
    )
    with op.batch_alter_table("jira_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jira_outbox_next_attempt_at"), ["next_attempt_at"], unique=False)

    op.create_table(
        "jira_webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=True),
        sa.Column("received_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_webhook_deliveries")),
        sa.UniqueConstraint("identifier", name=op.f("uq_jira_webhook_deliveries_identifier")),
    )
    with op.batch_alter_table("jira_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jira_webhook_deliveries_received_at"), ["received_at"], unique=False)

    op.create_table(
        "jira_sync_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_jira_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("jira_sync_state")
    with op.batch_alter_table("jira_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jira_webhook_deliveries_received_at"))
    op.drop_table("jira_webhook_deliveries")
    with op.batch_alter_table("jira_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jira_outbox_next_attempt_at"))
    op.drop_table("jira_outbox")
    with op.batch_alter_table("action_item_history", schema=None) as batch_op:
        batch_op.drop_index("ix_action_item_history_item_at")
    op.drop_table("action_item_history")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_items_parent_id"))
        batch_op.drop_constraint(batch_op.f("fk_action_items_parent_id_action_items"), type_="foreignkey")
        batch_op.drop_column("synced_at")
        batch_op.drop_column("jira_state")
        batch_op.drop_column("jira_updated_at")
        batch_op.drop_column("jira_issue_id")
        batch_op.drop_column("parent_id")
