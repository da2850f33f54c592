"""ownership_acknowledgements: who accepted, once per model, that its images are its owner's (R4)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ownership_acknowledgements",
        sa.Column("style_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["style_id"],
            ["style_models.id"],
            name=op.f("fk_ownership_acknowledgements_style_id_style_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ownership_acknowledgements_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("style_id", "user_id", name=op.f("pk_ownership_acknowledgements")),
    )
    with op.batch_alter_table("ownership_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ownership_acknowledgements_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ownership_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ownership_acknowledgements_user_id"))
    op.drop_table("ownership_acknowledgements")
