"""The ledger's invariants under any sequence of sales and payouts, and its append-only table."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.ledger import service as ledger
from hallmark.ledger.models import LedgerEntry
from hallmark.ledger.repository import LedgerRepository

Sale = tuple[str, int, int, rights.SaleChannel, int]
Payout = tuple[str, int, float]

sales = st.tuples(
    st.just("sale"),
    st.integers(0, 2),
    st.integers(0, 10_000_000),
    st.sampled_from(rights.SaleChannel),
    st.integers(0, 10_000),
)
payouts = st.tuples(st.just("payout"), st.integers(0, 2), st.floats(0, 1))


@pytest.fixture
def owners(make_user: Callable[..., User]) -> list[User]:
    return [make_user(f"owner{i}") for i in range(3)]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(st.one_of(sales, payouts), max_size=25))
def test_any_sequence_of_sales_and_payouts_keeps_the_books_balanced(
    session: Session, owners: list[User], operations: list[Sale | Payout]
) -> None:
    savepoint = session.begin_nested()
    try:
        earned = {owner.id: 0 for owner in owners}
        paid = {owner.id: 0 for owner in owners}
        fees = 0
        for number, operation in enumerate(operations):
            owner = owners[operation[1]]
            if operation[0] == "sale":
                _, _, price, channel, fee_bps = operation  # type: ignore[misc]
                split = rights.split_proceeds(price, channel, platform_fee_bps=fee_bps)
                assert split.owner_minor + split.platform_minor == price
                ledger.record_sale(
                    session,
                    reference=f"sale-{number}",
                    owner_id=owner.id,
                    split=split,
                    currency="EUR",
                )
                earned[owner.id] += split.owner_minor
                fees += split.platform_minor
            else:
                amount = int(ledger.balance_due(session, owner.id, "EUR") * operation[2])
                if amount > 0:
                    ledger.record_payout(
                        session,
                        owner_id=owner.id,
                        amount_minor=amount,
                        currency="EUR",
                        reference=f"payout-{number}",
                    )
                    paid[owner.id] += amount

        report = ledger.reconcile_ledger(session)
        assert report.ok, report.problems
        repository = LedgerRepository(session)
        for (account, currency), balance in report.balances.items():
            entries = repository.entries_of_account(account)
            assert balance == sum(e.amount_minor for e in entries if e.currency == currency)
        for owner in owners:
            assert ledger.balance_due(session, owner.id, "EUR") == earned[owner.id] - paid[owner.id]
            assert ledger.paid_out(session, owner.id, "EUR") == paid[owner.id]
        assert -report.balances.get((ledger.REVENUE, "EUR"), 0) == fees
    finally:
        savepoint.rollback()


def test_an_unbalanced_transaction_is_never_written(session: Session, owners: list[User]) -> None:
    bad = rights.ProceedsSplit(100, 90, 0, rights.Rule.R6)  # 10 would vanish

    with pytest.raises(AssertionError, match="unbalanced"):
        ledger.record_sale(session, reference="x", owner_id=owners[0].id, split=bad, currency="EUR")
    assert LedgerRepository(session).count() == 0


def test_reconciliation_reports_an_entry_written_around_the_service(
    session: Session, owners: list[User]
) -> None:
    session.add(
        LedgerEntry(
            transaction_id=uuid.uuid4(),
            account=ledger.CASH,
            amount_minor=5,
            currency="EUR",
            kind="sale",
            reference="forged",
        )
    )
    session.flush()

    report = ledger.reconcile_ledger(session)

    assert not report.ok
    assert any("sums to 5 EUR" in problem for problem in report.problems)


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_entries SET amount_minor = 0", "DELETE FROM ledger_entries"]
)
def test_the_database_refuses_to_change_or_delete_entries(
    session: Session, owners: list[User], statement: str
) -> None:
    split = rights.split_proceeds(1000, rights.SaleChannel.OWNER, platform_fee_bps=0)
    ledger.record_sale(session, reference="s", owner_id=owners[0].id, split=split, currency="EUR")

    savepoint = session.begin_nested()
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text(statement))
    savepoint.rollback()
    assert ledger.balance_due(session, owners[0].id, "EUR") == 1000
