"""services: teams, the services they own, the services each incident touched, an action item's service,
and the contributing factors named in a retro.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0012'
# The integrator rechains this after the other migrations of its merge.
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_services_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('name', name=op.f('uq_services_name'))
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_team_id'), ['team_id'], unique=False)

    op.create_table('incident_services',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_services_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_incident_services_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('incident_id', 'service_id', name=op.f('pk_incident_services'))
    )
    with op.batch_alter_table('incident_services', schema=None) as batch_op:
        batch_op.create_index('ix_incident_services_service_id_incident_id', ['service_id', 'incident_id'], unique=False)

    op.create_table('retro_factors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('retrospective_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('factor_key', sa.String(length=130), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['people.id'], name=op.f('fk_retro_factors_by_id_people')),
    sa.ForeignKeyConstraint(['retrospective_id'], ['retrospectives.id'], name=op.f('fk_retro_factors_retrospective_id_retrospectives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retro_factors')),
    sa.UniqueConstraint('retrospective_id', 'factor_key', name=op.f('uq_retro_factors_retrospective_id_factor_key'))
    )
    with op.batch_alter_table('retro_factors', schema=None) as batch_op:
        batch_op.create_index('ix_retro_factors_category_retrospective_id', ['category', 'retrospective_id'], unique=False)
        batch_op.create_index('ix_retro_factors_factor_key_retrospective_id', ['factor_key', 'retrospective_id'], unique=False)

    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_action_items_service_id'), ['service_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_action_items_service_id_services'), 'services', ['service_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_action_items_service_id_services'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_action_items_service_id'))
        batch_op.drop_column('service_id')

    with op.batch_alter_table('retro_factors', schema=None) as batch_op:
        batch_op.drop_index('ix_retro_factors_factor_key_retrospective_id')
        batch_op.drop_index('ix_retro_factors_category_retrospective_id')

    op.drop_table('retro_factors')
    with op.batch_alter_table('incident_services', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_services_service_id_incident_id')

    op.drop_table('incident_services')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_team_id'))

    op.drop_table('services')
    op.drop_table('teams')
