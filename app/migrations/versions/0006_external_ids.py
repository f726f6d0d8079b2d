"""external_ids: an incident's external id is unique among public incidents, not across private ones.

A private incident's external id must not be discoverable by someone who cannot see it, so
creating an incident with that id is no longer refused for them (the service refuses ids used by
incidents the creator can see; the database keeps public ones unique).

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_incidents_external_id", type_="unique")
        batch_op.create_index("ix_incidents_external_id", ["external_id"], unique=False)
    op.create_index(
        "uq_incidents_public_external_id", "incidents", ["external_id"], unique=True,
        sqlite_where=sa.text("visibility = 'public'"), postgresql_where=sa.text("visibility = 'public'"),
    )


def downgrade() -> None:
    op.drop_index("uq_incidents_public_external_id", table_name="incidents")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_external_id")
        batch_op.create_unique_constraint("uq_incidents_external_id", ["external_id"])
