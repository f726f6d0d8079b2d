"""services: teams, the services they own, the services each incident touched, an action item's service,
and the contributing factors named in a retro.

Revision ID: 0016
Revises: 0015
"""
import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op
import sqlalchemy as sa
import app.db


revision = '0016'
# The integrator rechains this after the other migrations of its merge.
down_revision = '0015'
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

    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('action_items', schema=None) as batch_op:
            batch_op.add_column(sa.Column('service_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_action_items_service_id_services'), 'services', ['service_id'],
                                        ['id'], ondelete='SET NULL')
        _search_triggers_again()
    else:
        op.add_column('action_items', sa.Column('service_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_action_items_service_id_services'), 'action_items', 'services', ['service_id'],
                              ['id'], ondelete='SET NULL')
    op.create_index(op.f('ix_action_items_service_id'), 'action_items', ['service_id'], unique=False)



def downgrade() -> None:
    op.drop_index(op.f('ix_action_items_service_id'), table_name='action_items')
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('action_items', schema=None) as batch_op:
            batch_op.drop_column('service_id')
        _search_triggers_again()
    else:
        op.drop_constraint(op.f('fk_action_items_service_id_services'), 'action_items', type_='foreignkey')
        op.drop_column('action_items', 'service_id')

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


def _search_triggers_again() -> None:
    """A batch "move and copy" of action_items on SQLite drops its search triggers: made again as 0014 makes them."""
    search = _search_migration()
    for index, table, columns, _titles in search.INDEXES:
        if table == 'action_items':
            for statement in search.sqlite_triggers(index, table, columns):
                op.execute(statement)


def _search_migration() -> ModuleType:
    """The search migration (0014), for the statements of its SQLite triggers."""
    spec = importlib.util.spec_from_file_location("search_migration", Path(__file__).with_name("0014_search.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
