"""The usage register as CSV: one row per license, or per image that has none."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from hallmark.usage.repository import LicenseUse, UsageEntry

CSV_HEADER = (
    "image_id",
    "made_at",
    "maker",
    "prompt",
    "seed",
    "listed",
    "licensed",
    "license_id",
    "licensee",
    "terms",
    "purposes",
    "channel",
    "price_minor",
    "currency",
    "granted_at",
    "expires_at",
    "revoked_at",
)
# A spreadsheet runs a cell that starts with one of these as a formula: such text gets a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Text as a cell that a spreadsheet shows and never runs."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _rows(entries: Iterable[UsageEntry]) -> Iterator[list[str]]:
    for entry in entries:
        image = [
            str(entry.generation_id),
            _when(entry.created_at),
            _cell(entry.maker_username),
            _cell(entry.prompt),
            str(entry.seed),
            "yes" if entry.listed else "no",
            "yes" if entry.licenses else "no",
        ]
        licenses: list[LicenseUse | None] = list(entry.licenses) or [None]
        for license_ in licenses:
            if license_ is None:
                yield image + [""] * (len(CSV_HEADER) - len(image))
                continue
            yield image + [
                str(license_.license_id),
                _cell(license_.licensee_username),
                _cell(license_.terms_name),
                " ".join(license_.purposes),
                license_.channel,
                str(license_.price_minor),
                license_.currency,
                _when(license_.granted_at),
                _when(license_.expires_at),
                _when(license_.revoked_at),
            ]


def usage_csv(entries: Iterable[UsageEntry]) -> str:
    """The register's entries as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(_rows(entries))
    return buffer.getvalue()
