"""Built-in matching profiles, one per webshop platform.

What each platform's Pay. plugin puts in which field, and where the common ledger connectors
write the order number, decides the profile. Fields are read in the order listed; all
references found are candidates together (a reference found in two fields counts once).
"""

from __future__ import annotations

from datetime import date

from .errors import InputError
from .settings import MatchProfile, Settings

GENERIC = MatchProfile(
    name="generic",
    payment_fields=("reference", "description", "extra1"),
)

# WooCommerce: reference = order number (stripped of non-alphanumerics since plugin v4),
# extra1 = order number, description = 'Order:'/'Order-' prefix + order number. extra2 is the
# billing e-mail and extra3 the internal post id: neither is an order number.
WOOCOMMERCE = MatchProfile(
    name="woocommerce",
    payment_fields=("reference", "extra1", "description"),
)

# Magento 2: extra1 = increment id ('000000123'), description = 'Order ' + increment id.
# reference carried the internal entity id between plugin v4.0.0 and 2026-01-29, a small
# unpadded integer that must not be mistaken for an increment id: reference is only read on
# transactions from that date, and zero padding is kept so '123' never equals '000000123'.
MAGENTO2 = MatchProfile(
    name="magento2",
    payment_fields=("extra1", "reference", "description"),
    strip_leading_zeros=False,
    reference_since=date(2026, 1, 29),
)

# Shopware 6: reference = order number, description = 'Order: '/'Bestelling: ' + number.
SHOPWARE6 = MatchProfile(
    name="shopware6",
    payment_fields=("reference", "description"),
)

# PrestaShop: description and extra1 carry the *cart* id unless the order was created first;
# extra2 carries the order id only then. A cart id can equal some other order's id, so only
# extra2 is trusted (it needs the per-transaction enrichment).
PRESTASHOP = MatchProfile(
    name="prestashop",
    payment_fields=("extra2",),
)

# Lightspeed eCom: order numbers 'ORD00001', invoices 'INV00001'; the letter prefix keeps
# the two apart while leading zeros may differ.
LIGHTSPEED = MatchProfile(
    name="lightspeed",
    payment_fields=("reference", "description"),
)

# Shopify: Pay. never sees the order number. Only rule 7 (customer e-mail + exact amount)
# can link; it needs the per-transaction enrichment for the e-mail.
SHOPIFY = MatchProfile(
    name="shopify",
    payment_fields=(),
    email_amount=True,
)

# Mijnwebwinkel: plain integer order numbers that start low ('27'), so two digits suffice.
MIJNWEBWINKEL = MatchProfile(
    name="mijnwebwinkel",
    payment_fields=("description", "reference"),
    min_length=2,
)

# CCV Shop: ordernumber_full, with an optional letter prefix.
CCVSHOP = MatchProfile(
    name="ccvshop",
    payment_fields=("reference", "description"),
)

# Plug&Pay documents only other payment providers; payments seen through Pay. are read like
# an unknown integration.
PLUGANDPAY = MatchProfile(
    name="plugandpay",
    payment_fields=("reference", "description", "extra1"),
)

PROFILES: dict[str, MatchProfile] = {
    p.name: p
    for p in (
        GENERIC,
        WOOCOMMERCE,
        MAGENTO2,
        SHOPWARE6,
        PRESTASHOP,
        LIGHTSPEED,
        SHOPIFY,
        MIJNWEBWINKEL,
        CCVSHOP,
        PLUGANDPAY,
    )
}


def resolve_profile(profile: str | MatchProfile, where: str = "settings") -> MatchProfile:
    """The profile object for a name or a custom profile."""
    if isinstance(profile, MatchProfile):
        return profile
    found = PROFILES.get(profile)
    if found is None:
        names = ", ".join(sorted(PROFILES))
        raise InputError(where, "profile", f"names unknown profile {profile!r} ({names})")
    return found


def group_profiles(settings: Settings) -> dict[str, MatchProfile]:
    """The profile of each revenue group whose override names one, resolved once per run."""
    return {
        code: resolve_profile(override.profile, f"settings.revenue_group_overrides[{code!r}]")
        for code, override in sorted(settings.revenue_group_overrides.items())
        if override.profile is not None
    }
