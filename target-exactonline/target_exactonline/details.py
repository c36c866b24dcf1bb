"""Whether a clearing was matched without the tap's transaction details its profile reads.

Pay.'s clearing records carry ``reference``, ``description`` and ``orderId``; ``extra1..3``
and the customer's e-mail are not in them ([I] pay-api.md §4.2) but in Transaction:Info, which
the tap reads only with ``enrich_transactions`` on and its ``transactions`` stream selected.
A profile that relies on them still plans without them, but its payments then land on the
fallback accounts, so the run says so per clearing instead of leaving a bookkeeper to guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pay_exact_transform import PROFILES, MatchProfile

DETAIL_FIELDS = frozenset({"extra1", "extra2", "extra3"})

WHY_NONE_IN_RUN = (
    "no transaction details arrived in this run: tap-pay reads them only with "
    "enrich_transactions set to true and its transactions stream selected "
    "(select: transactions.*)"
)


def detail_needs(profile: MatchProfile) -> str | None:
    """What the profile reads from the transaction details, when it depends on them.

    The e-mail (Shopify's e-mail + amount rule) always counts. Of the built-in profiles, those
    that read ``extra1..3`` first (Magento 2, PrestaShop) depend on them; generic, WooCommerce
    and Plug&Pay read ``extra1`` only after the reference, so they match without it. A custom
    profile that names an extra field asked for it and depends on it.
    """
    needs = [f for f in profile.payment_fields if f in DETAIL_FIELDS]
    if profile.email_amount:
        needs.append("the customer's e-mail")
    if not needs:
        return None
    built_in = PROFILES.get(profile.name) == profile
    if built_in and not profile.email_amount and profile.payment_fields[0] not in DETAIL_FIELDS:
        return None
    return ", ".join(needs)


def missing_details(
    profile: MatchProfile,
    records: Iterable[Mapping[str, Any]],
    transactions: Mapping[str, Mapping[str, Any]],
) -> str | None:
    """The warning for one clearing whose payments all arrived without their details, or None.

    ``records`` are the clearing's raw clearing records, ``transactions`` the run's
    Transaction:Info rows by order id.
    """
    needs = detail_needs(profile)
    order_ids = [str(r.get("orderId")) for r in records if r.get("orderId")]
    if needs is None or not order_ids or any(o in transactions for o in order_ids):
        return None
    why = (
        WHY_NONE_IN_RUN
        if not transactions
        else "transaction details arrived for other clearings but for none of this clearing's "
        "payments (see tap-pay's log for orders Pay. had no Transaction:Info for)"
    )
    return (
        f"matching ran without the transaction details that profile {profile.name} reads "
        f"({needs}) for all {len(order_ids)} payments: {why}. Payments it could have matched "
        "are on the fallback accounts; turn the details on and the next clearings match"
    )
