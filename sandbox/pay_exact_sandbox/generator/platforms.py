"""Order numbers per webshop platform, and what each platform's Pay. plugin sends with a payment.

Facts from webshop-references.md §1, §2 and §4; hosted platforms whose plugin is closed are [I].
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date

from .ids import IdFactory

# Magento's plugin sent the entity id as `reference` between v4.0.0 and the fix (§1, Magento 2).
_MAGENTO_ENTITY_REFERENCE_FROM = date(2025, 6, 1)
_MAGENTO_ENTITY_REFERENCE_UNTIL = date(2026, 1, 29)


@dataclass(slots=True)
class PlatformOrder:
    """One webshop order as the shop numbers it, and the fields its Pay. plugin fills."""

    number: str  # the order number the shop (and so the Exact connector) shows
    description: str
    reference: str
    extra1: str = ""
    extra2: str = ""
    extra3: str = ""
    shop_ids: dict[str, str] = field(default_factory=dict)  # other ids the platform keeps


class OrderNumbering:
    """Hands out a platform's order numbers in sequence, with that platform's gaps and shapes."""

    def __init__(self, platform: str, rng: random.Random, ids: IdFactory, shop_name: str) -> None:
        self.platform = platform
        self._rng = rng
        self._ids = ids
        self._shop_name = shop_name
        starts = {
            "woocommerce": rng.randrange(1200, 9000),
            "magento2": rng.randrange(100, 5000),
            "shopware6": 10000 + rng.randrange(0, 500),
            "prestashop": rng.randrange(100, 3000),
            "lightspeed": rng.randrange(1, 2000),
            "shopify": 1001 + rng.randrange(0, 800),
            "mijnwebwinkel": rng.randrange(20, 3000),
            "ccvshop": rng.randrange(100_000, 400_000),
            "plugandpay": rng.randrange(1, 900),
        }
        self._next = starts[platform]
        self._second = rng.randrange(50, 500)  # entity ids, cart-to-order offsets, invoice numbers

    def _advance(self, gap_max: int = 1) -> int:
        number = self._next
        if gap_max > 1:
            self._next += 1 + int(self._rng.random() * gap_max)
        else:
            self._next += 1
        return number

    def next_order(self, order_date: date, email: str) -> PlatformOrder:
        make = getattr(self, f"_{self.platform}")
        return make(order_date, email)

    def _woocommerce(self, _day: date, email: str) -> PlatformOrder:
        # Post ids leave gaps (posts share the sequence); default prefix `Order:` since 2022-11.
        n = str(self._advance(gap_max=4))
        return PlatformOrder(
            number=n,
            description=f"Order:{n}",
            reference=n,
            extra1=n,
            extra2=email,
            extra3=n,
            shop_ids={"postId": n},
        )

    def _magento2(self, day: date, _email: str) -> PlatformOrder:
        seq = self._advance()
        increment_id = f"{seq:09d}"
        entity_id = str(seq - self._second) if seq > self._second else str(seq)
        quote_id = str(seq * 2 + self._second)
        in_entity_window = _MAGENTO_ENTITY_REFERENCE_FROM <= day < _MAGENTO_ENTITY_REFERENCE_UNTIL
        return PlatformOrder(
            number=increment_id,
            description=f"Order {increment_id}",
            reference=entity_id if in_entity_window else increment_id,
            extra1=increment_id,
            extra2=quote_id,
            extra3=entity_id,
            shop_ids={"entityId": entity_id, "quoteId": quote_id},
        )

    def _shopware6(self, _day: date, _email: str) -> PlatformOrder:
        n = str(self._advance())
        # sprintf('%s %s') with the label `Order: ` gives a double space.
        return PlatformOrder(number=n, description=f"Order:  {n}", reference=n)

    def _prestashop(self, _day: date, _email: str) -> PlatformOrder:
        # Pay. receives the cart id; the shop's own order id and 9-letter reference never reach it.
        cart_id = str(self._advance(gap_max=3) + self._second)
        order_id = str(self._next)
        shop_reference = "".join(self._rng.choice(string.ascii_uppercase) for _ in range(9))
        return PlatformOrder(
            number=shop_reference,
            description=cart_id,
            reference=cart_id,  # [?] v1 orderNumber surfacing as v2 reference
            extra1=cart_id,
            shop_ids={"cartId": cart_id, "orderId": order_id, "reference": shop_reference},
        )

    def _lightspeed(self, _day: date, _email: str) -> PlatformOrder:
        seq = self._advance()
        n = f"ORD{seq:05d}"
        # [I] the Lightspeed app's description/reference are undocumented; the order exists first.
        return PlatformOrder(
            number=n,
            description=n,
            reference=n,
            shop_ids={"invoiceNumber": f"INV{seq:05d}"},
        )

    def _shopify(self, _day: date, _email: str) -> PlatformOrder:
        # The offsite session carries no order number, only a session id and the e-mail (§2).
        seq = self._advance()
        session = self._ids.alnum(24)
        return PlatformOrder(
            number=f"#{seq}",
            description=self._shop_name[:32],  # [I] a shop text
            reference=session,  # [I] the payment session id
            shop_ids={"orderNumber": str(seq), "sessionId": session},
        )

    def _mijnwebwinkel(self, _day: date, _email: str) -> PlatformOrder:
        n = str(self._advance())
        payment_uuid = "-".join(self._ids.alnum(k, "0123456789abcdef") for k in (8, 4, 4, 4, 12))
        # [I] MOS's description and reference to Pay. are undocumented.
        return PlatformOrder(
            number=n,
            description=f"Bestelling {n}",
            reference=payment_uuid,
            shop_ids={"paymentReference": payment_uuid},
        )

    def _ccvshop(self, _day: date, _email: str) -> PlatformOrder:
        n = str(self._advance())
        # [I] CCV's description and reference to Pay. are undocumented; prefix left empty.
        return PlatformOrder(number=n, description=f"Order {n}", reference=n)

    def _plugandpay(self, day: date, _email: str) -> PlatformOrder:
        seq = self._advance()
        invoice = f"F{day.year}-{seq:04d}"
        # Plug&Pay is not expected through Pay. at all (§2); when seen it is an unknown integration.
        return PlatformOrder(
            number=invoice,
            description=f"Factuur {invoice}",
            reference=invoice.replace("-", ""),
        )
