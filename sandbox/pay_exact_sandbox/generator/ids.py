"""Pay. object codes in their real shapes (pay-api.md §2), unique within one generated merchant."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

_ALNUM_UPPER = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"


def _iban_check(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country) + "00"
    return f"{98 - int(digits) % 97:02d}"


class IdFactory:
    """Draws codes from one seeded RNG; counters keep sequential codes unique and increasing."""

    def __init__(self, rng: random.Random, year: int) -> None:
        self._rng = rng
        self._seen: set[str] = set()
        self._clearing = year * 10_000_000 + rng.randrange(100_000, 900_000)
        self._invoice = year * 10_000_000 + rng.randrange(100_000, 900_000)
        self._ft = rng.randrange(1000, 5000) * 100_000_000 + rng.randrange(10_000_000)
        self._ex = rng.randrange(1000, 5000) * 100_000_000 + rng.randrange(10_000_000)
        self._order = rng.randrange(1_600_000_000, 1_700_000_000)
        self._reporting = rng.randrange(100_000, 500_000)

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            code = make()
            if code not in self._seen:
                self._seen.add(code)
                return code

    def _digits4(self) -> str:
        return f"{self._rng.randrange(10_000):04d}"

    def object_code(self, prefix: str) -> str:
        """``M-1234-5678``, ``AT-…``, ``CT-…``, ``BA-…``, ``SL-…``, ``A-…``."""
        return self._unique(lambda: f"{prefix}-{self._digits4()}-{self._digits4()}")

    def token(self) -> str:
        """A 40-character API token."""
        return "".join(self._rng.choice(_HEX) for _ in range(40))

    def settlement_code(self) -> str:
        """The code on the merchant's bank statement, shaped like ``SK6Y-7PBP``."""
        return self._unique(
            lambda: (
                "".join(self._rng.choice(_ALNUM_UPPER) for _ in range(4))
                + "-"
                + "".join(self._rng.choice(_ALNUM_UPPER) for _ in range(4))
            )
        )

    def clearing_id(self) -> str:
        self._clearing += self._rng.randrange(1, 40)
        return f"CLEARING-{self._clearing:011d}"

    def invoice_id(self) -> str:
        self._invoice += self._rng.randrange(1, 40)
        return f"INVOICE-{self._invoice:011d}"

    def finance_line_code(self) -> str:
        self._ft += 1 + int(self._rng.random() * 8)
        n = f"{self._ft:012d}"
        return f"FT-{n[:4]}-{n[4:8]}-{n[8:]}"

    def transaction_id(self) -> str:
        self._ex += 1 + int(self._rng.random() * 8)
        n = f"{self._ex:012d}"
        return f"EX-{n[:4]}-{n[4:8]}-{n[8:]}"

    def order_id(self) -> str:
        """Pay.'s own order id: digits, ``X``, 4-5 hex characters (``1661180545X1ca9c``)."""
        self._order += 1 + int(self._rng.random() * 49)
        bits = self._rng.getrandbits(21)
        tail = f"{bits & 0xFFFFF:05x}"
        return f"{self._order}X{tail if bits >> 20 else tail[1:]}"

    def reporting_id(self) -> str:
        # [?] the real reportingId format is unknown (pay-api.md §4.2)
        self._reporting += 1
        return f"R-{self._reporting:09d}"

    def iban(self, bank: str) -> str:
        def make() -> str:
            bban = bank + f"{self._rng.randrange(10**10):010d}"
            return f"NL{_iban_check('NL', bban)}{bban}"

        return self._unique(make)

    def manual_transfer_code(self) -> str:
        n = f"{self._rng.getrandbits(56) % 10**16:016d}"
        return f"{n[:4]} {n[4:8]} {n[8:12]} {n[12:]}"

    def alnum(self, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))
