"""Tables of the ledger slice: append-only entries, grouped into balanced transactions."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hallmark.db import Base, CreatedAtMixin


class LedgerEntry(CreatedAtMixin, Base):
    """One leg of a money movement: a debit (positive) or credit (negative) on one account.

    Entries are only ever inserted; the entries of one transaction sum to zero per currency.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    transaction_id: Mapped[uuid.UUID] = mapped_column(index=True)
    account: Mapped[str] = mapped_column(String(80), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(128), index=True)
