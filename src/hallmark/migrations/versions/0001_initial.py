"""initial schema: accounts, artworks, styles, generations

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_operator", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "artworks",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("rights_attested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("training_opt_out", sa.Boolean(), nullable=False),
        sa.Column("variant_of_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_artworks_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["variant_of_id"],
            ["artworks.id"],
            name=op.f("fk_artworks_variant_of_id_artworks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artworks")),
        sa.UniqueConstraint("owner_id", "sha256", name="uq_artworks_owner_sha256"),
    )
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artworks_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_artworks_sha256"), ["sha256"], unique=False)

    op.create_table(
        "style_models",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("engine", sa.String(length=50), nullable=False),
        sa.Column("base_model", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unpublished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_style_models_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_style_models")),
        sa.UniqueConstraint("owner_id", "name", name="uq_style_models_owner_name"),
    )
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_style_models_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_style_models_visibility"), ["visibility"], unique=False
        )

    op.create_table(
        "generations",
        sa.Column("style_id", sa.Uuid(), nullable=False),
        sa.Column("maker_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("ownership_rule", sa.String(length=4), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("near_copy", sa.Boolean(), nullable=False),
        sa.Column("near_copy_cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("near_copy_cleared_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["maker_id"], ["users.id"], name=op.f("fk_generations_maker_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_generations_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["style_id"], ["style_models.id"], name=op.f("fk_generations_style_id_style_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generations")),
    )
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generations_maker_id"), ["maker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_generations_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_generations_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_generations_style_id"), ["style_id"], unique=False)

    op.create_table(
        "style_training_works",
        sa.Column("style_id", sa.Uuid(), nullable=False),
        sa.Column("artwork_id", sa.Uuid(), nullable=False),
        sa.Column("artwork_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["artwork_id"],
            ["artworks.id"],
            name=op.f("fk_style_training_works_artwork_id_artworks"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["style_id"],
            ["style_models.id"],
            name=op.f("fk_style_training_works_style_id_style_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("style_id", "artwork_id", name=op.f("pk_style_training_works")),
    )
    with op.batch_alter_table("style_training_works", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_style_training_works_artwork_id"), ["artwork_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("style_training_works", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_style_training_works_artwork_id"))

    op.drop_table("style_training_works")
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generations_style_id"))
        batch_op.drop_index(batch_op.f("ix_generations_sha256"))
        batch_op.drop_index(batch_op.f("ix_generations_owner_id"))
        batch_op.drop_index(batch_op.f("ix_generations_maker_id"))

    op.drop_table("generations")
    with op.batch_alter_table("style_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_style_models_visibility"))
        batch_op.drop_index(batch_op.f("ix_style_models_owner_id"))

    op.drop_table("style_models")
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artworks_sha256"))
        batch_op.drop_index(batch_op.f("ix_artworks_owner_id"))

    op.drop_table("artworks")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
