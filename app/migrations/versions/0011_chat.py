"""chat: the chat outbox (Slack and Teams notices, sent after commit, retried with backoff).

Revision ID: 0011
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import app.db

revision = "0011"
# The integrator rechains this after the other migrations of its merge.
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("retrospective_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("claimed_until", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["retrospective_id"], ["retrospectives.id"],
                                name=op.f("fk_chat_outbox_retrospective_id_retrospectives"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_chat_outbox_dedupe_key")),
    )
    with op.batch_alter_table("chat_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_outbox_channel"), ["channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_outbox_retrospective_id"), ["retrospective_id"], unique=False)
        batch_op.create_index("ix_chat_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("chat_outbox")
