"""style_models: imported models, with their owner's attestation and the uploaded file's hash

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provenance", sa.String(length=16), server_default="trained", nullable=False)
        )
        batch_op.add_column(sa.Column("attested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("source_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.drop_column("source_sha256")
        batch_op.drop_column("attested_at")
        batch_op.drop_column("provenance")
