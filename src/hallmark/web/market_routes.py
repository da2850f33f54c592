"""The pages where images change hands: an image with its credentials and offers, and earnings."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hallmark.accounts import service as accounts
from hallmark.accounts.models import User
from hallmark.deps import InstanceDep, SessionDep
from hallmark.errors import AppError
from hallmark.generations import service as generations
from hallmark.ledger import service as ledger
from hallmark.licensing import service as licensing
from hallmark.licensing.certificates import certificate_html
from hallmark.licensing.repository import EarningsRow
from hallmark.licensing.statements import (
    STATEMENT_MEDIA_TYPE,
    statement_csv,
    statement_disposition,
)
from hallmark.licensing.terms import TEMPLATES, price_in_minor_units
from hallmark.provenance.service import verify_file
from hallmark.styles import service as styles
from hallmark.web.routes import FORGED_FORM, form_is_genuine, page_user, render
from hallmark.web.studio_routes import refused, to_login

router = APIRouter(include_in_schema=False)
CHART_WIDTH, CHART_HEIGHT = 560, 180


def _image_context(
    session: SessionDep, instance: InstanceDep, user: User, generation_id: uuid.UUID
) -> dict[str, Any]:
    """What the image page shows this person: the image if they may have it, credentials, offers."""
    generation = generations.get_visible_generation(session, user, generation_id)
    owner = accounts.username_of(session, generation.owner_id)
    style_name = styles.style_name_of(session, generation.style_id)
    report = verify_file(session, instance, instance.blobs.get(generation.sha256))
    is_owner = generation.owner_id == user.id
    own_offers = [
        offer
        for offer in (licensing.offers_of_owner(session, user) if is_owner else [])
        if offer.generation_id == generation_id and offer.withdrawn_at is None
    ]
    return {
        "generation": generation,
        "is_owner": is_owner,
        "own_offers": own_offers,
        "templates": {key: terms.name for key, terms in TEMPLATES.items()},
        "owner": owner or "?",
        "style_name": style_name or "?",
        "may_download": generations.download_decision(session, user, generation).allowed,
        "report_lines": report.in_plain_words().splitlines(),
        "verdict": report.verdict,
        "offers": licensing.offers_for_image(session, user, generation_id),
        "mine": licensing.licenses_for_image(session, user, generation_id),
        "purchase_key": str(uuid.uuid4()),
    }


def _image_refused(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    user: User,
    generation_id: uuid.UUID,
    error: AppError | str,
) -> Response:
    """The image page again, saying what went wrong."""
    context = _image_context(session, instance, user, generation_id)
    return refused(request, "image.html", user, error, **context)


def _image_form(
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    generation_id: uuid.UUID,
    csrf_token: str | None,
    act: Callable[[User], object],
) -> Response:
    """A form posted from an image page: signed in, genuine, acted on, then back to the page."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    if not form_is_genuine(request, csrf_token):
        return _image_refused(request, session, instance, user, generation_id, FORGED_FORM)
    try:
        with session.begin_nested():
            act(user)
    except AppError as error:
        return _image_refused(request, session, instance, user, generation_id, error)
    return RedirectResponse(f"/images/{generation_id}/page", status_code=303)


@router.get("/images/{generation_id}/page", response_class=HTMLResponse, response_model=None)
def image_page(
    generation_id: uuid.UUID, request: Request, session: SessionDep, instance: InstanceDep
) -> Response:
    """One image: who owns it, its content credentials, and the licenses on offer."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    context = _image_context(session, instance, user, generation_id)
    return render(request, "image.html", context, user=user)


@router.post("/images/{generation_id}/buy", response_class=HTMLResponse, response_model=None)
def buy_license(
    generation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    offer_id: Annotated[uuid.UUID, Form()],
    purchase_key: Annotated[str, Form(min_length=1, max_length=128)],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Buy a license; the page's purchase key makes a double click or a retry charge once."""
    return _image_form(
        request,
        session,
        instance,
        generation_id,
        csrf_token,
        lambda user: licensing.purchase_license(
            session,
            user,
            generation_id,
            offer_id,
            idempotency_key=f"page-{user.id}-{purchase_key}",
            payments=instance.payments,
            platform_fee_bps=instance.settings.platform_fee_bps,
        ),
    )


@router.post("/images/{generation_id}/offers", response_class=HTMLResponse, response_model=None)
def offer_license(
    generation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    template: Annotated[str, Form(max_length=32)],
    price: Annotated[str, Form(max_length=32)],
    currency: Annotated[str, Form(max_length=3)] = "EUR",
    exclusive: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """The image's owner offers licenses on it at their own price and terms (R6)."""
    return _image_form(
        request,
        session,
        instance,
        generation_id,
        csrf_token,
        lambda user: licensing.create_offer(
            session,
            user,
            template=template,
            price_minor=price_in_minor_units(price),
            currency=currency.upper(),
            exclusive=exclusive,
            generation_id=generation_id,
        ),
    )


@router.post(
    "/images/{generation_id}/offers/{offer_id}/withdraw",
    response_class=HTMLResponse,
    response_model=None,
)
def withdraw_offer(
    generation_id: uuid.UUID,
    offer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    instance: InstanceDep,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """The owner stops an offer; licenses already sold under it stay valid."""
    return _image_form(
        request,
        session,
        instance,
        generation_id,
        csrf_token,
        lambda user: licensing.withdraw_offer(session, user, offer_id),
    )


@router.get("/licenses/{license_id}/certificate", response_class=HTMLResponse, response_model=None)
def license_certificate(
    license_id: uuid.UUID, request: Request, session: SessionDep, instance: InstanceDep
) -> Response:
    """A license's signed certificate as a page to read and print (its buyer and seller only)."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    signed = licensing.certificate_for(
        session,
        user,
        license_id,
        instance.certificate_signer,
        instance.settings.resolved_public_url,
    )
    return HTMLResponse(certificate_html(signed))


def monthly_chart(rows: list[EarningsRow]) -> dict[str, Any]:
    """Bars of what the owner earned each month (first currency), sized for an inline SVG."""
    if not rows:
        return {"bars": [], "currency": ""}
    currency = rows[0].currency
    by_month: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.currency == currency:
            by_month[row.month] += row.net_minor
    months = sorted(by_month)[-12:]
    top = max(by_month[m] for m in months) or 1
    slot = CHART_WIDTH / max(len(months), 1)
    bars = []
    for index, month in enumerate(months):
        height = round((CHART_HEIGHT - 30) * by_month[month] / top)
        bars.append(
            {
                "x": round(index * slot + slot * 0.15),
                "width": round(slot * 0.7),
                "y": CHART_HEIGHT - 20 - height,
                "height": height,
                "month": month,
                "amount": f"{by_month[month] / 100:.2f}",
            }
        )
    return {"bars": bars, "currency": currency}


EARNINGS_PAGE_SALES = 100


@router.get("/earnings", response_class=HTMLResponse, response_model=None)
def earnings_page(
    request: Request,
    session: SessionDep,
    first_month: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    last_month: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    """My sales by model and month and one by one, each with the platform's share and what is
    mine, as tables and a chart; the payouts made to me, and what I am owed."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    months = {"from": first_month or "", "to": last_month or ""}
    try:
        period = licensing.sales_period(first_month or None, last_month or None)
    except AppError as error:
        empty = {"rows": [], "sales": [], "payouts": [], "balances": [], "months": months}
        return refused(request, "earnings.html", user, error, chart={"bars": []}, **empty)
    statement = licensing.earnings_statement(
        session, user, period, limit=EARNINGS_PAGE_SALES, offset=0
    )
    currencies = sorted({row.currency for row in statement.rows})
    balances = [
        {
            "currency": currency,
            "due": f"{ledger.balance_due(session, user.id, currency) / 100:.2f}",
            "paid": f"{ledger.paid_out(session, user.id, currency) / 100:.2f}",
        }
        for currency in currencies
    ]
    query = urlencode({key: value for key, value in months.items() if value})
    context: dict[str, Any] = {
        "rows": statement.rows,
        "sales": statement.sales,
        "sales_total": statement.sales_total,
        "payouts": statement.payouts,
        "balances": balances,
        "months": months,
        "statement_url": f"/earnings/statement.csv{'?' + query if query else ''}",
        "chart": monthly_chart(statement.rows),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
    }
    return render(request, "earnings.html", context, user=user)


@router.get("/earnings/statement.csv", response_model=None)
def earnings_statement_csv(
    request: Request,
    session: SessionDep,
    first_month: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    last_month: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    """My statement as CSV, one row per sale, as the API serves it."""
    user = page_user(request, session)
    if user is None:
        return to_login(request)
    first_month, last_month = first_month or None, last_month or None
    period = licensing.sales_period(first_month, last_month)
    return Response(
        statement_csv(licensing.statement_sales(session, user, period)),
        media_type=STATEMENT_MEDIA_TYPE,
        headers={"Content-Disposition": statement_disposition(first_month, last_month)},
    )
