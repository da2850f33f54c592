"""owner choices carried by content credentials

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hide_prompts", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("allow_ai_training", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.drop_column("allow_ai_training")
        batch_op.drop_column("hide_prompts")
