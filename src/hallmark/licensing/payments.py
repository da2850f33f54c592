"""How a buyer pays: one protocol, an embedded provider that only records, and Stripe."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from hallmark.config import Settings
from hallmark.errors import AppError, InvalidInput


class PaymentFailed(AppError):
    """The payment provider declined or failed the charge; nothing was licensed."""

    status_code = 402
    code = "payment_failed"


@dataclass(frozen=True)
class PaymentRequest:
    """One charge: who pays, how much, for what, and the key that makes a retry harmless."""

    buyer_id: uuid.UUID
    amount_minor: int
    currency: str
    description: str
    idempotency_key: str


class PaymentProvider(Protocol):
    """Takes a buyer's money for a license, and gives it back if the license is not recorded."""

    name: str

    def charge(self, request: PaymentRequest) -> str:
        """Charge the buyer; returns the provider's reference. Raises PaymentFailed."""
        ...

    def refund(self, reference: str) -> None:
        """Return a charge in full (the purchase it paid for was rolled back)."""
        ...


class RecordedPayments:
    """The embedded default: no card network; the charge exists only as the ledger's entries."""

    name = "ledger"

    def charge(self, request: PaymentRequest) -> str:
        """Accept the charge and name it after its idempotency key, so a retry names it again."""
        if request.amount_minor < 0:
            raise PaymentFailed("A charge cannot be negative.")
        digest = uuid.uuid5(uuid.NAMESPACE_URL, f"{request.buyer_id}/{request.idempotency_key}")
        return f"ledger:{digest}"

    def refund(self, reference: str) -> None:
        """Nothing left the buyer's hands, so nothing comes back."""


class StripePayments:
    """Charges through Stripe PaymentIntents, with Stripe's own idempotency keys."""

    name = "stripe"

    def __init__(self, api_key: str, client: Any | None = None) -> None:
        if client is None:
            import stripe

            client = stripe.StripeClient(api_key)
        self._client = client

    def charge(self, request: PaymentRequest) -> str:
        """Create and confirm a PaymentIntent for the buyer's saved payment method."""
        try:
            intent = self._client.payment_intents.create(
                params={
                    "amount": request.amount_minor,
                    "currency": request.currency.lower(),
                    "description": request.description,
                    "metadata": {"buyer_id": str(request.buyer_id)},
                    "confirm": True,
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                },
                options={"idempotency_key": f"{request.buyer_id}/{request.idempotency_key}"},
            )
        except Exception as error:  # the SDK's errors all mean "not charged"
            raise PaymentFailed(f"The payment was not accepted: {error}") from error
        if getattr(intent, "status", None) != "succeeded":
            raise PaymentFailed(f"The payment is {getattr(intent, 'status', 'unknown')}.")
        return str(intent.id)

    def refund(self, reference: str) -> None:
        """Refund the PaymentIntent in full."""
        self._client.refunds.create(params={"payment_intent": reference})


def payment_provider_from(settings: Settings) -> PaymentProvider:
    """The provider the settings name."""
    if settings.payment_provider == "ledger":
        return RecordedPayments()
    if settings.payment_provider == "stripe":
        if settings.stripe_api_key is None:
            raise InvalidInput("HALLMARK_PAYMENT_PROVIDER=stripe needs HALLMARK_STRIPE_API_KEY.")
        return StripePayments(settings.stripe_api_key.get_secret_value())
    raise InvalidInput(
        f"Unknown payment provider '{settings.payment_provider}'; choose 'ledger' or 'stripe'."
    )
