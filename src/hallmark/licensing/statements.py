"""Earnings statements as CSV: one row per sale, with the platform's share and the owner's net."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from hallmark.licensing.repository import SaleRow

STATEMENT_COLUMNS = (
    "date",
    "model",
    "image_id",
    "license_id",
    "buyer",
    "seller",
    "gross_minor",
    "platform_share_minor",
    "net_minor",
    "currency",
)
STATEMENT_MEDIA_TYPE = "text/csv; charset=utf-8"
# A cell starting with one of these is a formula to a spreadsheet; it is quoted to stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A text cell a spreadsheet shows as written, never evaluates."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def statement_csv(sales: Iterable[SaleRow]) -> str:
    """The sales as CSV with a header: amounts in integer minor units, times in UTC (ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(STATEMENT_COLUMNS)
    for sale in sales:
        writer.writerow(
            (
                sale.sold_at.isoformat(timespec="seconds"),
                _text(sale.style_name),
                sale.generation_id,
                sale.license_id,
                _text(sale.buyer_username),
                sale.seller,
                sale.gross_minor,
                sale.platform_share_minor,
                sale.net_minor,
                sale.currency,
            )
        )
    return buffer.getvalue()


def statement_disposition(first_month: str | None, last_month: str | None) -> str:
    """The Content-Disposition of a statement download, named after its months."""
    months = "-to-".join(month for month in (first_month, last_month) if month) or "all"
    return f'attachment; filename="statement-{months}.csv"'
