"""fingerprints, copy claims, near-copy marks on generations

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "copy_claims",
        sa.Column("claimant_id", sa.Uuid(), nullable=False),
        sa.Column("upload_sha256", sa.String(length=64), nullable=False),
        sa.Column("upload_filename", sa.String(length=255), nullable=False),
        sa.Column("matched_artwork_id", sa.Uuid(), nullable=True),
        sa.Column("matched_generation_id", sa.Uuid(), nullable=True),
        sa.Column("matched_owner_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claimant_id"], ["users.id"], name=op.f("fk_copy_claims_claimant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["matched_artwork_id"],
            ["artworks.id"],
            name=op.f("fk_copy_claims_matched_artwork_id_artworks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["matched_generation_id"],
            ["generations.id"],
            name=op.f("fk_copy_claims_matched_generation_id_generations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["matched_owner_id"], ["users.id"], name=op.f("fk_copy_claims_matched_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_copy_claims")),
    )
    with op.batch_alter_table("copy_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_copy_claims_claimant_id"), ["claimant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_copy_claims_status"), ["status"], unique=False)

    op.create_table(
        "image_fingerprints",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("artwork_id", sa.Uuid(), nullable=True),
        sa.Column("generation_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pdq", sa.LargeBinary(length=32), nullable=False),
        sa.Column("pdq_quality", sa.Integer(), nullable=False),
        sa.Column("phash", sa.LargeBinary(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(artwork_id IS NULL) <> (generation_id IS NULL)",
            name=op.f("ck_image_fingerprints_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["artwork_id"],
            ["artworks.id"],
            name=op.f("fk_image_fingerprints_artwork_id_artworks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_image_fingerprints_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_image_fingerprints_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_fingerprints")),
        sa.UniqueConstraint("artwork_id", name=op.f("uq_image_fingerprints_artwork_id")),
        sa.UniqueConstraint("generation_id", name=op.f("uq_image_fingerprints_generation_id")),
    )
    with op.batch_alter_table("image_fingerprints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_image_fingerprints_owner_id"), ["owner_id"], unique=False
        )

    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("near_copy_artwork_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("near_copy_method", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("near_copy_distance", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_generations_near_copy_artwork_id_artworks"),
            "artworks",
            ["near_copy_artwork_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("generations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_generations_near_copy_artwork_id_artworks"), type_="foreignkey"
        )
        batch_op.drop_column("near_copy_distance")
        batch_op.drop_column("near_copy_method")
        batch_op.drop_column("near_copy_artwork_id")

    with op.batch_alter_table("image_fingerprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_fingerprints_owner_id"))

    op.drop_table("image_fingerprints")
    with op.batch_alter_table("copy_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_copy_claims_status"))
        batch_op.drop_index(batch_op.f("ix_copy_claims_claimant_id"))

    op.drop_table("copy_claims")
