"""Where a license lets an image be used (R8): territories as ISO 3166-1 country codes and regions.

A license's territory is written as "worldwide", a region ("EU", "EEA") or countries by their
ISO 3166-1 alpha-2 code ("US", "FR"), several separated by commas ("US, CA"). A use happens in one
country, named by its code.
"""

from __future__ import annotations

import re

# Every officially assigned ISO 3166-1 alpha-2 code.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()
)
EU = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
REGIONS: dict[str, frozenset[str]] = {
    "WORLDWIDE": COUNTRIES,
    "EU": EU,
    "EEA": EU | {"IS", "LI", "NO"},
}
ALIASES = {"UK": "GB", "WORLD": "WORLDWIDE", "GLOBAL": "WORLDWIDE"}
_SEPARATORS = re.compile(r"\s*(?:,|;|\+|\band\b)\s*", re.IGNORECASE)


class TerritoryError(ValueError):
    """A territory that names no known country or region; the message says which part."""


def country_code(text: str) -> str:
    """The ISO 3166-1 alpha-2 code of one country, refusing anything else by name."""
    code = ALIASES.get(text.strip().upper(), text.strip().upper())
    if code not in COUNTRIES:
        raise TerritoryError(
            f"'{text[:20]}' is not an ISO 3166-1 country code such as US, FR or GB."
        )
    return code


def countries_in(territory: str) -> frozenset[str]:
    """The countries a license territory covers, refusing any part it cannot read."""
    covered: set[str] = set()
    parts = [part for part in _SEPARATORS.split(territory.strip()) if part]
    if not parts:
        raise TerritoryError("A territory names at least one country or region.")
    for part in parts:
        name = ALIASES.get(part.upper(), part.upper())
        if name in REGIONS:
            covered |= REGIONS[name]
            continue
        if name not in COUNTRIES:
            raise TerritoryError(
                f"The territory part '{part[:20]}' is neither a region ({', '.join(REGIONS)}) "
                "nor an ISO 3166-1 country code such as US or FR."
            )
        covered.add(name)
    return frozenset(covered)


def is_worldwide(territory: str) -> bool:
    """Whether a territory covers every country."""
    try:
        return countries_in(territory) == COUNTRIES
    except TerritoryError:
        return False
