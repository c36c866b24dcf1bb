"""The Exact Online countries: one host each, and which one a configuration means."""

from __future__ import annotations

# One host per country; an app and its divisions live on one of them (reference §1).
EXACT_HOSTS: dict[str, str] = {
    "nl": "https://start.exactonline.nl",
    "be": "https://start.exactonline.be",
    "de": "https://start.exactonline.de",
    "uk": "https://start.exactonline.co.uk",
    "fr": "https://start.exactonline.fr",
    "es": "https://start.exactonline.es",
    "us": "https://start.exactonline.com",
}
DEFAULT_COUNTRY = "nl"


def country_for(country: str | None, base_url: str | None) -> str:
    """The country the stores key this customer by: ``exact_country`` when set, else the country
    whose host ``exact_base_url`` is, else nl (a test host without a country counts as nl)."""
    if country:
        return country.strip().lower()
    host = (base_url or "").rstrip("/").lower()
    for code, url in EXACT_HOSTS.items():
        if host == url:
            return code
    return DEFAULT_COUNTRY
