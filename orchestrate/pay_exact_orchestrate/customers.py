"""The customers: one Meltano environment file each in the environments folder.

Only what orchestration needs is read from a file: the environment's name (the customer) and the
Exact administration it books into: the Exact country and the division, which together key the
customer's rows, run lock and tokens in the target's shared store. The country is
``exact_country``, else the country whose host ``exact_base_url`` names, else nl (as the target
derives it). Two customers booking into the same administration would read each other's ledger
rows and share one run lock, so such a pair is refused as a whole: neither is booked until the
files are fixed. The same division number in two countries is two administrations.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

SUFFIX = ".meltano.yml"
# A name that is safe as a partition key, a folder name and a variable prefix.
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
TARGET = "target-exactonline"
# The Exact countries by host, as the target derives a customer's country (the orchestrator does
# not import the target, which runs in Meltano's plugin environment; a test keeps them equal).
COUNTRY_BY_HOST = {
    "https://start.exactonline.nl": "nl",
    "https://start.exactonline.be": "be",
    "https://start.exactonline.de": "de",
    "https://start.exactonline.co.uk": "uk",
    "https://start.exactonline.fr": "fr",
    "https://start.exactonline.es": "es",
    "https://start.exactonline.com": "us",
}
DEFAULT_COUNTRY = "nl"


def exact_country(country: str | None, base_url: str | None) -> str:
    """``exact_country`` when set, else the country whose host ``exact_base_url`` is, else nl."""
    if country:
        return country.strip().lower()
    return COUNTRY_BY_HOST.get((base_url or "").strip().rstrip("/").lower(), DEFAULT_COUNTRY)


class CustomerFileError(ValueError):
    """An environment file that cannot be read as one customer."""


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    file: Path
    country: str  # the Exact country (nl, be, ...) the target's store keys this customer by
    division: str
    # Whether the file sets the target's token_encryption_key (usually ``${<PREFIX>_TOKEN_...}``);
    # the shared store keeps tokens encrypted, so a customer without one cannot run.
    token_key_set: bool = False

    @property
    def administration(self) -> tuple[str, str]:
        return (self.country, self.division)

    @property
    def secret_prefix(self) -> str:
        """Secrets of this customer are variables named ``<PREFIX>_...`` (ACME_PAY_API_TOKEN)."""
        return re.sub(r"[^A-Z0-9]", "_", self.name.upper()) + "_"


@dataclass(frozen=True, slots=True)
class Customers:
    """Every customer file, split into those that may run and those refused (and why)."""

    usable: dict[str, Customer]
    refused: dict[str, str]  # name (or file name) -> the reason


def read_customer(path: Path) -> Customer:
    """The one environment ``path`` defines, named like the file."""
    name = path.name.removesuffix(SUFFIX)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CustomerFileError(f"{path.name}: cannot be read as YAML ({exc})") from None
    environments = document.get("environments") if isinstance(document, dict) else None
    if not isinstance(environments, list) or len(environments) != 1:
        raise CustomerFileError(f"{path.name}: must define exactly one environment")
    (environment,) = environments
    if not isinstance(environment, dict) or environment.get("name") != name:
        raise CustomerFileError(f"{path.name}: its environment must be named '{name}'")
    if not NAME.match(name):
        raise CustomerFileError(
            f"{path.name}: the name '{name}' must be lower-case letters, digits, - or _"
        )
    loaders = (((environment.get("config") or {}).get("plugins") or {}).get("loaders")) or []
    config = next((p.get("config") or {} for p in loaders if p.get("name") == TARGET), {})
    division = str(config.get("division") or "").strip()
    if not division:
        raise CustomerFileError(f"{path.name}: {TARGET} has no division")
    country = exact_country(
        str(config.get("exact_country") or "").strip() or None,
        str(config.get("exact_base_url") or "").strip() or None,
    )
    if country not in COUNTRY_BY_HOST.values():
        known = ", ".join(sorted(COUNTRY_BY_HOST.values()))
        raise CustomerFileError(f"{path.name}: {TARGET} exact_country must be one of {known}")
    return Customer(
        name=name,
        file=path.resolve(),
        country=country,
        division=division,
        token_key_set=bool(str(config.get("token_encryption_key") or "").strip()),
    )


def read_customers(folder: Path) -> Customers:
    """Every ``*.meltano.yml`` in ``folder``; unreadable files and shared administrations are
    refused with the reason."""
    usable: dict[str, Customer] = {}
    refused: dict[str, str] = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            customer = read_customer(path)
        except CustomerFileError as exc:
            refused[path.name.removesuffix(SUFFIX)] = str(exc)
            continue
        usable[customer.name] = customer
    by_administration: dict[tuple[str, str], list[str]] = defaultdict(list)
    for customer in usable.values():
        by_administration[customer.administration].append(customer.name)
    for (country, division), names in by_administration.items():
        if len(names) > 1:
            for name in names:
                others = ", ".join(n for n in names if n != name)
                refused[name] = (
                    f"{name}: Exact {country} division {division} is also the administration of "
                    f"{others}; none of them is booked until each has its own"
                )
                del usable[name]
    return Customers(usable=usable, refused=refused)
