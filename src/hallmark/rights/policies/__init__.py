"""Terms of other AI image services as dated, sourced data (R10), read from the TOML files here."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib import resources
from typing import Any


class Outcome(StrEnum):
    """What a rule or clause says of an action."""

    ALLOWED = "allowed"
    ALLOWED_WITH_CONDITIONS = "allowed_with_conditions"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN = "unknown"


class PolicyError(ValueError):
    """A policy file that cannot be trusted to answer anything: which file, which field, why."""


@dataclass(frozen=True)
class FreePlanTerms:
    """How a service licenses images to someone who does not pay, where that differs."""

    clause: str
    license_name: str
    license_url: str
    output_owner: str  # "creator", "service" or "unknown"
    commercial_use: Outcome
    attribution_required: bool = False


@dataclass(frozen=True)
class PolicyVersion:
    """The terms of one service as they stood between two dates."""

    effective_from: date
    effective_until: date | None
    dated_by: str  # "service": the service's own date; "checked"/"reported": when it was read
    source: str
    clause: str
    output_owner: str  # "creator", "service" or "unknown"
    commercial_use: Outcome
    disclosure: str  # "required" or "recommended"
    train_other_models: Outcome
    others_images: str
    paid_plan_required: bool = False
    commercial_condition: str | None = None
    train_condition: str | None = None
    revenue_cap_usd: int | None = None
    large_company_revenue_usd: int | None = None
    large_company_plans: tuple[str, ...] = ()
    # Training a derivative (a fine-tune or LoRA) of the model that made the image, where the
    # terms treat it apart from training other models.
    train_derivatives: Outcome = Outcome.UNKNOWN
    train_derivatives_condition: str | None = None
    free_plan: FreePlanTerms | None = None

    def in_force(self, on: date) -> bool:
        """Whether these terms applied on a day."""
        return self.effective_from <= on and (
            self.effective_until is None or on <= self.effective_until
        )


@dataclass(frozen=True)
class ServicePolicy:
    """A service and every dated version of its terms."""

    service: str
    name: str
    versions: tuple[PolicyVersion, ...]

    def version_on(self, on: date) -> PolicyVersion | None:
        """The terms in force on a day, if any are known."""
        return next((v for v in self.versions if v.in_force(on)), None)

    @property
    def current(self) -> PolicyVersion:
        """The newest version."""
        return max(self.versions, key=lambda v: v.effective_from)


_OWNERS = {"creator", "service", "unknown"}
_REQUIRED = ("effective_from", "dated_by", "source", "clause", "output_owner", "commercial_use")


def parse_policy(name: str, data: dict[str, Any]) -> ServicePolicy:
    """A policy from parsed TOML, refusing missing or malformed fields by name."""

    def fail(field: str, problem: str) -> PolicyError:
        return PolicyError(f"{name}: {field}: {problem}")

    for key in ("service", "name", "versions"):
        if key not in data:
            raise fail(key, "missing")
    versions = []
    for number, raw in enumerate(data["versions"], start=1):
        where = f"versions[{number}]"
        for key in _REQUIRED:
            if key not in raw:
                raise fail(f"{where}.{key}", "missing")
        if not isinstance(raw["effective_from"], date):
            raise fail(f"{where}.effective_from", "not a date (write 2025-07-31)")
        if raw["output_owner"] not in _OWNERS:
            raise fail(f"{where}.output_owner", f"one of {sorted(_OWNERS)}")
        try:
            commercial = Outcome(raw["commercial_use"])
            training = Outcome(raw.get("train_other_models", "unknown"))
            derivatives = Outcome(raw.get("train_derivatives", "unknown"))
        except ValueError as error:
            raise fail(where, f"{error}; outcomes are {[o.value for o in Outcome]}") from None
        free_plan = _free_plan(raw["free_plan"], fail, where) if "free_plan" in raw else None
        versions.append(
            PolicyVersion(
                effective_from=raw["effective_from"],
                effective_until=raw.get("effective_until"),
                dated_by=raw["dated_by"],
                source=raw["source"],
                clause=raw["clause"],
                output_owner=raw["output_owner"],
                commercial_use=commercial,
                disclosure=raw.get("disclosure", "recommended"),
                train_other_models=training,
                others_images=raw.get("others_images", ""),
                paid_plan_required=bool(raw.get("paid_plan_required", False)),
                commercial_condition=raw.get("commercial_condition"),
                train_condition=raw.get("train_condition"),
                revenue_cap_usd=raw.get("revenue_cap_usd"),
                large_company_revenue_usd=raw.get("large_company_revenue_usd"),
                large_company_plans=tuple(raw.get("large_company_plans", ())),
                train_derivatives=derivatives,
                train_derivatives_condition=raw.get("train_derivatives_condition"),
                free_plan=free_plan,
            )
        )
    if not versions:
        raise fail("versions", "at least one version is needed")
    ordered = sorted(versions, key=lambda v: v.effective_from)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.effective_until is None or earlier.effective_until >= later.effective_from:
            raise fail("versions", "dated versions overlap; give the earlier an effective_until")
    return ServicePolicy(data["service"], data["name"], tuple(ordered))


def _free_plan(
    raw: dict[str, Any], fail: Callable[[str, str], PolicyError], where: str
) -> FreePlanTerms:
    """A version's free-plan terms, refusing missing or malformed fields by name."""
    where = f"{where}.free_plan"
    for key in ("clause", "license_name", "license_url", "output_owner", "commercial_use"):
        if key not in raw:
            raise fail(f"{where}.{key}", "missing")
    if raw["output_owner"] not in _OWNERS:
        raise fail(f"{where}.output_owner", f"one of {sorted(_OWNERS)}")
    if not str(raw["license_url"]).startswith("https://"):
        raise fail(f"{where}.license_url", "an https:// address of the license text")
    try:
        commercial = Outcome(raw["commercial_use"])
    except ValueError as error:
        raise fail(where, f"{error}; outcomes are {[o.value for o in Outcome]}") from None
    return FreePlanTerms(
        clause=raw["clause"],
        license_name=raw["license_name"],
        license_url=raw["license_url"],
        output_owner=raw["output_owner"],
        commercial_use=commercial,
        attribution_required=bool(raw.get("attribution_required", False)),
    )


@functools.cache
def load_policies() -> dict[str, ServicePolicy]:
    """Every policy shipped with Hallmark, by service key."""
    found = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".toml"):
            policy = parse_policy(entry.name, tomllib.loads(entry.read_text(encoding="utf-8")))
            found[policy.service] = policy
    return found
