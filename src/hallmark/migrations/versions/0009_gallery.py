"""the gallery: a model's chosen previews and the images listed for licensing

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gallery_listings",
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("style_id", sa.Uuid(), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_gallery_listings_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["style_id"],
            ["style_models.id"],
            name=op.f("fk_gallery_listings_style_id_style_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("generation_id", name=op.f("pk_gallery_listings")),
    )
    with op.batch_alter_table("gallery_listings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gallery_listings_listed_at"), ["listed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gallery_listings_style_id"), ["style_id"], unique=False
        )

    op.create_table(
        "style_previews",
        sa.Column("style_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_style_previews_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["style_id"],
            ["style_models.id"],
            name=op.f("fk_style_previews_style_id_style_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("style_id", "generation_id", name=op.f("pk_style_previews")),
    )
    with op.batch_alter_table("style_previews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_style_previews_generation_id"), ["generation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("style_previews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_style_previews_generation_id"))
    op.drop_table("style_previews")
    with op.batch_alter_table("gallery_listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gallery_listings_style_id"))
        batch_op.drop_index(batch_op.f("ix_gallery_listings_listed_at"))
    op.drop_table("gallery_listings")
