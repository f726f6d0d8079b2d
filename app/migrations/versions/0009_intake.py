"""intake: sender events applied once, sender incidents mapped to incidents, sender users matched by email.

Revision ID: 0009
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import app.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("incident_ref", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_deliveries")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_intake_deliveries_source_event_id")),
    )
    op.create_table(
        "intake_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Boolean(), nullable=False),
        sa.Column("status_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("severity_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_intake_incidents_incident_id_incidents"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_incidents")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_intake_incidents_incident_id")),
        sa.UniqueConstraint("source", "ref", name=op.f("uq_intake_incidents_source_ref")),
    )
    op.create_table(
        "intake_sender_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("looked_up_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_sender_users")),
        sa.UniqueConstraint("source", "user_id", name=op.f("uq_intake_sender_users_source_user_id")),
    )


def downgrade() -> None:
    op.drop_table("intake_sender_users")
    op.drop_table("intake_incidents")
    op.drop_table("intake_deliveries")
