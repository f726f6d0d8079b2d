"""section_prompts: a document section keeps its template's prompt apart from its text.

The prompt ("What went well…?") is shown as a placeholder while the section is empty and
never saved into the body, so it never reaches an export. Existing sections keep their body
as it is (it may hold what people wrote around an old prompt line) and get an empty prompt.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_sections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("document_sections", schema=None) as batch_op:
        batch_op.drop_column("prompt")
