"""retro_meeting: the retro's history (completed, reopened: who, when, why) and the timeline events
its meeting highlighted.

Highlights belong to the retro, not to the incident's timeline: the meeting marks what it wants to
discuss, and the incident's own record stays as it arrived.

Revision ID: 0008
Revises: 0006 (rechained onto 0007 at merge)
"""
from alembic import op
import sqlalchemy as sa
import app.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retro_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retrospective_id", sa.Integer(), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["people.id"], name=op.f("fk_retro_status_changes_by_id_people")),
        sa.ForeignKeyConstraint(["retrospective_id"], ["retrospectives.id"],
                                name=op.f("fk_retro_status_changes_retrospective_id_retrospectives"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retro_status_changes")),
    )
    with op.batch_alter_table("retro_status_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retro_status_changes_retrospective_id"), ["retrospective_id"], unique=False)

    op.create_table(
        "retro_highlights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retrospective_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["people.id"], name=op.f("fk_retro_highlights_by_id_people")),
        sa.ForeignKeyConstraint(["event_id"], ["timeline_events.id"],
                                name=op.f("fk_retro_highlights_event_id_timeline_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["retrospective_id"], ["retrospectives.id"],
                                name=op.f("fk_retro_highlights_retrospective_id_retrospectives"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retro_highlights")),
        sa.UniqueConstraint("retrospective_id", "event_id", name=op.f("uq_retro_highlights_retrospective_id_event_id")),
    )
    with op.batch_alter_table("retro_highlights", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retro_highlights_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_retro_highlights_retrospective_id"), ["retrospective_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retro_highlights", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retro_highlights_retrospective_id"))
        batch_op.drop_index(batch_op.f("ix_retro_highlights_event_id"))
    op.drop_table("retro_highlights")
    with op.batch_alter_table("retro_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retro_status_changes_retrospective_id"))
    op.drop_table("retro_status_changes")
