"""admin: API tokens get a name, a scope and an expiry; people an active flag; the audit log.

Existing tokens keep the power they had: tokens of admins get the admin scope, the others write.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa
import app.db

revision = "0015"
# The integrator rechains this after the other migrations of its merge.
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=100), nullable=False,
                                      server_default="Made before tokens had names"))
        batch_op.add_column(sa.Column("scope", sa.String(length=8), nullable=False, server_default="write"))
        batch_op.add_column(sa.Column("expires_at", app.db.UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE api_tokens SET scope = 'admin' "
        "WHERE user_id IN (SELECT id FROM users WHERE is_admin = true)"
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("name", server_default=None)
        batch_op.alter_column("scope", server_default=None)

    # A plain ADD COLUMN with its default kept: on SQLite, recreating `people` (which many tables
    # refer to) would fail its foreign keys.
    op.add_column("people", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_audit_events_actor_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index("ix_audit_events_actor_id_occurred_at", ["actor_id", "occurred_at"], unique=False)
        batch_op.create_index("ix_audit_events_kind_occurred_at", ["kind", "occurred_at"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_events")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("active")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
        batch_op.drop_column("name")
