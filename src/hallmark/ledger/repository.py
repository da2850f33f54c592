"""All SQL of the ledger slice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from hallmark.ledger.models import LedgerEntry
from hallmark.repository import Repository


class LedgerRepository(Repository[LedgerEntry]):
    """Ledger entries: added in balanced groups, summed into balances, never changed."""

    model = LedgerEntry
    not_found = "No such ledger entry."

    def balance(self, account: str, currency: str) -> int:
        """The sum of an account's entries in one currency (debits positive)."""
        query = select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.account == account, LedgerEntry.currency == currency
        )
        return int(self.session.scalar(query) or 0)

    def total_of_kind(self, account: str, currency: str, kind: str) -> int:
        """The sum of an account's entries of one kind (sales, payouts) in one currency."""
        query = select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.account == account,
            LedgerEntry.currency == currency,
            LedgerEntry.kind == kind,
        )
        return int(self.session.scalar(query) or 0)

    def balances(self) -> dict[tuple[str, str], int]:
        """Every account's balance per currency."""
        query = select(
            LedgerEntry.account, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor)
        ).group_by(LedgerEntry.account, LedgerEntry.currency)
        return {(a, c): int(total) for a, c, total in self.session.execute(query)}

    def unbalanced_transactions(self) -> list[tuple[uuid.UUID, str, int]]:
        """Transactions whose entries do not sum to zero in some currency (should be none)."""
        total = func.sum(LedgerEntry.amount_minor)
        query = (
            select(LedgerEntry.transaction_id, LedgerEntry.currency, total)
            .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
            .having(total != 0)
        )
        return [(t, c, int(s)) for t, c, s in self.session.execute(query)]

    def entries_for_reference(self, reference: str) -> list[LedgerEntry]:
        """The entries recorded for one sale or payout."""
        query = select(LedgerEntry).where(LedgerEntry.reference == reference)
        return list(self.session.scalars(query.order_by(LedgerEntry.id)))

    def entries_of_account(self, account: str) -> list[LedgerEntry]:
        """An account's entries, oldest first."""
        query = select(LedgerEntry).where(LedgerEntry.account == account)
        return list(self.session.scalars(query.order_by(LedgerEntry.id)))

    def entries_of_kind(
        self,
        account: str,
        kind: str,
        *,
        starts: datetime | None = None,
        ends: datetime | None = None,
        limit: int,
    ) -> list[LedgerEntry]:
        """An account's entries of one kind written from `starts` to before `ends`, newest first."""
        query = select(LedgerEntry).where(LedgerEntry.account == account, LedgerEntry.kind == kind)
        if starts is not None:
            query = query.where(LedgerEntry.created_at >= starts)
        if ends is not None:
            query = query.where(LedgerEntry.created_at < ends)
        query = query.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit)
        return list(self.session.scalars(query))

    def count(self) -> int:
        """How many entries exist."""
        return self._count()
