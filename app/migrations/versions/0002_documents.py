"""documents: sections with history, custom templates, publications.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import app.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retrospective_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["retrospective_id"], ["retrospectives.id"],
                                name=op.f("fk_document_sections_retrospective_id_retrospectives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["people.id"], name=op.f("fk_document_sections_updated_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_sections")),
        sa.UniqueConstraint("retrospective_id", "key", name=op.f("uq_document_sections_retrospective_id_key")),
    )
    with op.batch_alter_table("document_sections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_sections_retrospective_id"), ["retrospective_id"], unique=False)

    op.create_table(
        "document_section_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["section_id"], ["document_sections.id"],
                                name=op.f("fk_document_section_versions_section_id_document_sections"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["people.id"],
                                name=op.f("fk_document_section_versions_created_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_section_versions")),
        sa.UniqueConstraint("section_id", "version", name=op.f("uq_document_section_versions_section_id_version")),
    )
    with op.batch_alter_table("document_section_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_section_versions_section_id"), ["section_id"], unique=False)

    op.create_table(
        "document_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["people.id"], name=op.f("fk_document_templates_created_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_document_templates_name")),
    )

    op.create_table(
        "document_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retrospective_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("page_id", sa.String(length=64), nullable=True),
        sa.Column("page_version", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["retrospective_id"], ["retrospectives.id"],
                                name=op.f("fk_document_publications_retrospective_id_retrospectives"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["published_by_id"], ["people.id"],
                                name=op.f("fk_document_publications_published_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_publications")),
        sa.UniqueConstraint("retrospective_id", "target", name=op.f("uq_document_publications_retrospective_id_target")),
    )
    with op.batch_alter_table("document_publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_publications_retrospective_id"), ["retrospective_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("document_publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_publications_retrospective_id"))
    op.drop_table("document_publications")
    op.drop_table("document_templates")
    with op.batch_alter_table("document_section_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_section_versions_section_id"))
    op.drop_table("document_section_versions")
    with op.batch_alter_table("document_sections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_sections_retrospective_id"))
    op.drop_table("document_sections")
