"""Payment providers: the embedded one records, Stripe's adapter sends what Stripe needs."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from hallmark.config import Settings
from hallmark.errors import InvalidInput
from hallmark.licensing.payments import (
    PaymentFailed,
    PaymentRequest,
    RecordedPayments,
    StripePayments,
    payment_provider_from,
)

REQUEST = PaymentRequest(uuid.uuid4(), 2500, "EUR", "Standard license", "order-1")


class FakeStripe:
    """Stands in for stripe.StripeClient: records calls, answers like the API."""

    def __init__(self, status: str = "succeeded", fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.status, self.fail = status, fail
        self.payment_intents = SimpleNamespace(create=self._create_intent)
        self.refunds = SimpleNamespace(create=self._create_refund)

    def _create_intent(self, params: dict[str, Any], options: dict[str, Any]) -> Any:
        self.calls.append(("intent", params, options))
        if self.fail:
            raise RuntimeError("Your card was declined.")
        return SimpleNamespace(id="pi_123", status=self.status)

    def _create_refund(self, params: dict[str, Any]) -> Any:
        self.calls.append(("refund", params, {}))
        return SimpleNamespace(id="re_1")


def test_recorded_payments_name_a_retry_the_same() -> None:
    provider = RecordedPayments()

    assert provider.charge(REQUEST) == provider.charge(REQUEST)
    assert provider.charge(REQUEST).startswith("ledger:")


def test_stripe_gets_minor_units_lower_case_currency_and_the_idempotency_key() -> None:
    fake = FakeStripe()

    reference = StripePayments("sk_test", client=fake).charge(REQUEST)

    assert reference == "pi_123"
    kind, params, options = fake.calls[0]
    assert (kind, params["amount"], params["currency"]) == ("intent", 2500, "eur")
    assert options["idempotency_key"] == f"{REQUEST.buyer_id}/order-1"


@pytest.mark.parametrize(
    ("fake", "message"),
    [
        (FakeStripe(fail=True), "declined"),
        (FakeStripe(status="requires_action"), "requires_action"),
    ],
)
def test_a_declined_or_unfinished_stripe_payment_fails_clearly(
    fake: FakeStripe, message: str
) -> None:
    with pytest.raises(PaymentFailed, match=message):
        StripePayments("sk_test", client=fake).charge(REQUEST)


def test_a_stripe_refund_names_the_payment_intent() -> None:
    fake = FakeStripe()

    StripePayments("sk_test", client=fake).refund("pi_123")

    assert fake.calls == [("refund", {"payment_intent": "pi_123"}, {})]


def test_the_provider_is_chosen_by_settings(settings: Settings) -> None:
    assert isinstance(payment_provider_from(settings), RecordedPayments)
    with pytest.raises(InvalidInput, match="STRIPE_API_KEY"):
        payment_provider_from(settings.model_copy(update={"payment_provider": "stripe"}))
    with pytest.raises(InvalidInput, match="Unknown payment provider"):
        payment_provider_from(settings.model_copy(update={"payment_provider": "cash"}))
