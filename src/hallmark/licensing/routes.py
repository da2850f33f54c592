"""HTTP routes of licensing: offers, purchases, licenses, certificates and earnings."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status
from fastapi.responses import HTMLResponse

from hallmark.deps import CurrentUser, InstanceDep, SessionDep
from hallmark.ledger import service as ledger
from hallmark.licensing import service
from hallmark.licensing.certificates import certificate_html, verify_certificate
from hallmark.licensing.schemas import (
    BalancePublic,
    CertificateCheckPublic,
    EarningsPublic,
    EarningsRowPublic,
    LicensePublic,
    OfferCreate,
    OfferPublic,
    OpenOffer,
    PayoutPublic,
    PurchaseCreate,
    SalePublic,
)
from hallmark.licensing.statements import (
    STATEMENT_MEDIA_TYPE,
    statement_csv,
    statement_disposition,
)
from hallmark.schemas import Limit, Offset

router = APIRouter(tags=["licensing"])


@router.post("/api/offers", response_model=OfferPublic, status_code=status.HTTP_201_CREATED)
def create_offer(body: OfferCreate, user: CurrentUser, session: SessionDep) -> OfferPublic:
    """Offer licenses at your price and terms (R6; model-wide offers are sold under R7)."""
    offer = service.create_offer(
        session,
        user,
        template=body.template,
        price_minor=body.price_minor,
        currency=body.currency.upper(),
        exclusive=body.exclusive,
        style_id=body.style_id,
        generation_id=body.generation_id,
        overrides=body.overrides,
    )
    return OfferPublic.model_validate(offer)


@router.get("/api/offers", response_model=list[OfferPublic])
def list_my_offers(user: CurrentUser, session: SessionDep) -> list[OfferPublic]:
    """Every offer you made, withdrawn ones included."""
    return [OfferPublic.model_validate(o) for o in service.offers_of_owner(session, user)]


@router.delete("/api/offers/{offer_id}", response_model=OfferPublic)
def withdraw_offer(offer_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> OfferPublic:
    """Stop offering; licenses already sold stay valid."""
    return OfferPublic.model_validate(service.withdraw_offer(session, user, offer_id))


@router.get("/api/generations/{generation_id}/offers", response_model=list[OpenOffer])
def list_open_offers(
    generation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[OpenOffer]:
    """The licenses you could buy for this image now."""
    found = service.offers_for_image(session, user, generation_id)
    return [OpenOffer.from_applicable(item) for item in found]


@router.post(
    "/api/generations/{generation_id}/licenses",
    response_model=LicensePublic,
    status_code=status.HTTP_201_CREATED,
)
def purchase_license(
    generation_id: uuid.UUID,
    body: PurchaseCreate,
    user: CurrentUser,
    session: SessionDep,
    instance: InstanceDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=128)],
) -> LicensePublic:
    """Buy a license; send the same Idempotency-Key header when you retry, and pay only once."""
    license_ = service.purchase_license(
        session,
        user,
        generation_id,
        body.offer_id,
        idempotency_key=idempotency_key,
        payments=instance.payments,
        platform_fee_bps=instance.settings.platform_fee_bps,
    )
    return LicensePublic.model_validate(license_)


@router.get("/api/generations/{generation_id}/licenses", response_model=list[LicensePublic])
def list_image_licenses(
    generation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[LicensePublic]:
    """All licenses on your image, or your own licenses on someone else's."""
    found = service.licenses_for_image(session, user, generation_id)
    return [LicensePublic.model_validate(lic) for lic in found]


@router.get("/api/licenses", response_model=list[LicensePublic])
def list_my_purchases(user: CurrentUser, session: SessionDep) -> list[LicensePublic]:
    """The licenses you bought."""
    return [LicensePublic.model_validate(lic) for lic in service.my_purchases(session, user)]


@router.get("/api/licenses/{license_id}", response_model=LicensePublic)
def read_license(license_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> LicensePublic:
    """A license you sold or bought."""
    return LicensePublic.model_validate(service.get_license(session, user, license_id))


@router.get("/api/licenses/{license_id}/certificate", response_model=None)
def read_certificate(
    license_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    instance: InstanceDep,
    format: Annotated[str, Query(pattern="^(json|html)$")] = "json",
) -> Response:
    """The signed license certificate, as JSON to check or as a page to read and print."""
    signed = service.certificate_for(
        session,
        user,
        license_id,
        instance.certificate_signer,
        instance.settings.resolved_public_url,
    )
    if format == "html":
        return HTMLResponse(certificate_html(signed))
    return Response(json.dumps(signed, indent=2), media_type="application/json")


@router.post("/api/licenses/verify", response_model=CertificateCheckPublic)
def verify_license_certificate(
    document: Annotated[dict[str, Any], Body()], instance: InstanceDep
) -> CertificateCheckPublic:
    """Anyone may check a certificate: intact, and signed by this instance?"""
    check = verify_certificate(document, instance.certificate_signer.public_key)
    return CertificateCheckPublic(**check.__dict__)


FirstMonth = Annotated[
    str | None,
    Query(alias="from", max_length=7, description="First month (UTC), YYYY-MM; default: the first"),
]
LastMonth = Annotated[
    str | None,
    Query(alias="to", max_length=7, description="Last month (UTC), YYYY-MM; default: this one"),
]


@router.get("/api/earnings", response_model=EarningsPublic)
def read_earnings(
    user: CurrentUser,
    session: SessionDep,
    first_month: FirstMonth = None,
    last_month: LastMonth = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> EarningsPublic:
    """Your sales by model and month and one by one, each with its gross, the platform's share
    and your net; the payouts made to you, what you are owed, and what you were paid."""
    period = service.sales_period(first_month, last_month)
    statement = service.earnings_statement(session, user, period, limit=limit, offset=offset)
    currencies = sorted({row.currency for row in statement.rows})
    return EarningsPublic(
        rows=[EarningsRowPublic.from_row(row) for row in statement.rows],
        sales=[SalePublic.from_row(sale) for sale in statement.sales],
        sales_total=statement.sales_total,
        payouts=[PayoutPublic.from_payout(payout) for payout in statement.payouts],
        balances=[
            BalancePublic(
                currency=currency,
                due_minor=ledger.balance_due(session, user.id, currency),
                paid_minor=ledger.paid_out(session, user.id, currency),
            )
            for currency in currencies
        ],
    )


@router.get(
    "/api/earnings/statement.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per sale"}},
)
def download_statement(
    user: CurrentUser,
    session: SessionDep,
    first_month: FirstMonth = None,
    last_month: LastMonth = None,
) -> Response:
    """Your statement as CSV: one row per sale with its date, model, image, license, buyer,
    seller, gross, platform share, net and currency (amounts in minor units)."""
    period = service.sales_period(first_month, last_month)
    sales = service.statement_sales(session, user, period)
    return Response(
        statement_csv(sales),
        media_type=STATEMENT_MEDIA_TYPE,
        headers={"Content-Disposition": statement_disposition(first_month, last_month)},
    )
