"""Use cases of the ledger: record sales and payouts as balanced entries, derive balances, audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from hallmark.accounts.repository import UserRepository
from hallmark.errors import Conflict, InvalidInput, NotFound
from hallmark.ledger.models import LedgerEntry
from hallmark.ledger.repository import LedgerRepository
from hallmark.rights import ProceedsSplit

# Money the platform holds for owners, the platform's own fees, and what it owes each owner.
CASH = "platform:cash"
REVENUE = "platform:revenue"


def payable_account(owner_id: uuid.UUID) -> str:
    """The account of what the platform owes one owner (a liability: credits are earnings)."""
    return f"owner:{owner_id}:payable"


class EntryKind:
    """Why entries were written."""

    SALE = "sale"
    PAYOUT = "payout"


def _balanced(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Refuse to write a transaction whose legs do not sum to zero (a bug, never user input)."""
    totals: dict[str, int] = {}
    for entry in entries:
        totals[entry.currency] = totals.get(entry.currency, 0) + entry.amount_minor
    if any(totals.values()):
        raise AssertionError(f"unbalanced ledger transaction: {totals}")
    return entries


def _write(
    session: Session, kind: str, reference: str, currency: str, legs: list[tuple[str, int]]
) -> uuid.UUID:
    """Write one balanced transaction of non-zero legs; returns its id."""
    transaction_id = uuid.uuid4()
    entries = [
        LedgerEntry(
            transaction_id=transaction_id,
            account=account,
            amount_minor=amount,
            currency=currency,
            kind=kind,
            reference=reference,
        )
        for account, amount in legs
        if amount
    ]
    LedgerRepository(session).add_all(_balanced(entries))
    return transaction_id


def record_sale(
    session: Session,
    *,
    reference: str,
    owner_id: uuid.UUID,
    split: ProceedsSplit,
    currency: str,
) -> uuid.UUID | None:
    """Book one license sale: the price comes in, the owner's share is owed, the fee is earned.

    A free license moves no money and writes nothing; the transaction id is returned otherwise.
    """
    if split.price_minor == 0:
        return None
    legs = [
        (CASH, split.price_minor),
        (payable_account(owner_id), -split.owner_minor),
        (REVENUE, -split.platform_minor),
    ]
    return _write(session, EntryKind.SALE, reference, currency, legs)


def balance_due(session: Session, owner_id: uuid.UUID, currency: str) -> int:
    """What the platform owes an owner now: earnings not yet paid out, in minor units."""
    return -LedgerRepository(session).balance(payable_account(owner_id), currency)


def record_payout(
    session: Session, *, owner_id: uuid.UUID, amount_minor: int, currency: str, reference: str
) -> uuid.UUID:
    """Move part of an owner's balance to "paid", under the payment reference of the transfer."""
    if amount_minor <= 0:
        raise InvalidInput("A payout is a positive amount in minor units.")
    if not reference.strip() or len(reference) > 128:
        raise InvalidInput("A payout needs the reference of the transfer (1 to 128 characters).")
    # Lock the owner so that two payouts cannot both spend the same balance.
    if UserRepository(session).get_or_none(owner_id, for_update=True) is None:
        raise NotFound("No such owner.")
    repository = LedgerRepository(session)
    if repository.entries_for_reference(f"payout:{reference}"):
        raise Conflict(f"A payout with reference '{reference}' is already recorded.")
    due = balance_due(session, owner_id, currency)
    if amount_minor > due:
        raise Conflict(
            f"The payout of {amount_minor} exceeds the balance due of {due} {currency} minor units."
        )
    legs = [(payable_account(owner_id), amount_minor), (CASH, -amount_minor)]
    return _write(session, EntryKind.PAYOUT, f"payout:{reference}", currency, legs)


def paid_out(session: Session, owner_id: uuid.UUID, currency: str) -> int:
    """The total ever paid out to an owner."""
    return LedgerRepository(session).total_of_kind(
        payable_account(owner_id), currency, EntryKind.PAYOUT
    )


@dataclass(frozen=True)
class Payout:
    """One transfer of an owner's earnings to them, under the reference of the transfer."""

    paid_at: datetime
    amount_minor: int
    currency: str
    reference: str


def payouts_to(
    session: Session,
    owner_id: uuid.UUID,
    *,
    starts: datetime | None = None,
    ends: datetime | None = None,
    limit: int,
) -> list[Payout]:
    """The payouts made to an owner from `starts` to before `ends`, newest first."""
    entries = LedgerRepository(session).entries_of_kind(
        payable_account(owner_id), EntryKind.PAYOUT, starts=starts, ends=ends, limit=limit
    )
    return [
        Payout(
            paid_at=entry.created_at,
            amount_minor=entry.amount_minor,
            currency=entry.currency,
            reference=entry.reference.removeprefix("payout:"),
        )
        for entry in entries
    ]


@dataclass
class Reconciliation:
    """The outcome of checking the ledger's invariants: empty problems means it holds."""

    entries: int
    balances: dict[tuple[str, str], int]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every invariant holds."""
        return not self.problems


def reconcile_ledger(session: Session) -> Reconciliation:
    """Check the double-entry invariants over every entry ever written."""
    repository = LedgerRepository(session)
    balances = repository.balances()
    report = Reconciliation(repository.count(), balances)
    for transaction_id, currency, total in repository.unbalanced_transactions():
        report.problems.append(f"transaction {transaction_id} sums to {total} {currency}")
    totals: dict[str, int] = {}
    for (account, currency), amount in balances.items():
        totals[currency] = totals.get(currency, 0) + amount
        if account.endswith(":payable") and amount > 0:
            report.problems.append(f"{account} was paid {amount} {currency} more than it earned")
        if account == REVENUE and amount > 0:
            report.problems.append(f"platform revenue is negative: {amount} {currency}")
        if account == CASH and amount < 0:
            report.problems.append(f"the platform paid out more than it took: {amount} {currency}")
    for currency, total in totals.items():
        if total:
            report.problems.append(f"all balances in {currency} sum to {total}, not zero")
    return report
