"""style_models: the blob holding the trained model, so any host can load it

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("artifact_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.drop_column("artifact_sha256")
