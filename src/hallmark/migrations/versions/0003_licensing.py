"""licenses, offers and the ledger

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("account", sa.String(length=80), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_account"), ["account"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_reference"), ["reference"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_transaction_id"), ["transaction_id"], unique=False
        )

    op.create_table(
        "license_offers",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("style_id", sa.Uuid(), nullable=True),
        sa.Column("generation_id", sa.Uuid(), nullable=True),
        sa.Column("template", sa.String(length=32), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(style_id IS NULL) <> (generation_id IS NULL)",
            name=op.f("ck_license_offers_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_license_offers_generation_id_generations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_license_offers_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["style_id"], ["style_models.id"], name=op.f("fk_license_offers_style_id_style_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_offers")),
    )
    with op.batch_alter_table("license_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_license_offers_generation_id"), ["generation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_license_offers_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_license_offers_style_id"), ["style_id"], unique=False)

    op.create_table(
        "licenses",
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("licensor_id", sa.Uuid(), nullable=False),
        sa.Column("licensee_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("owner_share_minor", sa.BigInteger(), nullable=False),
        sa.Column("platform_share_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("exclusive_generation_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("payment_reference", sa.String(length=128), nullable=True),
        sa.Column("ledger_transaction_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_licenses_generation_id_generations"),
        ),
        sa.ForeignKeyConstraint(
            ["licensee_id"], ["users.id"], name=op.f("fk_licenses_licensee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["licensor_id"], ["users.id"], name=op.f("fk_licenses_licensor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["license_offers.id"], name=op.f("fk_licenses_offer_id_license_offers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses")),
        sa.UniqueConstraint(
            "exclusive_generation_id", name=op.f("uq_licenses_exclusive_generation_id")
        ),
        sa.UniqueConstraint("licensee_id", "idempotency_key", name="uq_licenses_idempotency"),
    )
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_licenses_generation_id"), ["generation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_licenses_licensee_id"), ["licensee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_licenses_licensor_id"), ["licensor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_licenses_offer_id"), ["offer_id"], unique=False)

    _forbid_changes_to_ledger_entries()


def _forbid_changes_to_ledger_entries() -> None:
    """The ledger is append-only: the database itself refuses to update or delete an entry."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_entries_no_{action.lower()} BEFORE {action} "
                "ON ledger_entries BEGIN "
                "SELECT RAISE(ABORT, 'ledger entries are append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licenses_offer_id"))
        batch_op.drop_index(batch_op.f("ix_licenses_licensor_id"))
        batch_op.drop_index(batch_op.f("ix_licenses_licensee_id"))
        batch_op.drop_index(batch_op.f("ix_licenses_generation_id"))

    op.drop_table("licenses")
    with op.batch_alter_table("license_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_license_offers_style_id"))
        batch_op.drop_index(batch_op.f("ix_license_offers_owner_id"))
        batch_op.drop_index(batch_op.f("ix_license_offers_generation_id"))

    op.drop_table("license_offers")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_reference"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_account"))

    op.drop_table("ledger_entries")
