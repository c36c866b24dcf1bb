"""Turning free text into reference keys that can be compared with a dict lookup.

A *key* is a normalised reference: upper case, letters and digits only. With
``strip_leading_zeros`` the digit run after a letter prefix loses its leading zeros
(``ORD00012`` becomes ``ORD12``, ``000123`` becomes ``123``), which never makes two
different prefixes equal: ``ORD12`` stays distinct from ``INV12`` and from ``12``.
Both the payment side and the ledger side go through the same function, so a rule holds
in both directions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Characters that separate references inside a text (besides whitespace). '-', '.', '#'
# and '_' are *not* separators: they sit inside references such as WC-1234 or 2025.0042.
_SEPARATORS = str.maketrans(dict.fromkeys(",/;:|()[]{}<>\"'+&=*!?", " "))
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_DIGITS = "0123456789"

# Words that introduce a number in descriptions, e.g. 'Order:1234', 'Order-1234',
# 'Bestelling:  10023', 'Bestelnummer 1042, factuurnummer 20001'. When written apart from
# the number they disappear anyway (a word without digits is not a reference); this list
# handles them when glued on with '-', '#' or '.'.
PREFIX_WORDS = (
    "BESTELNUMMER",
    "FACTUURNUMMER",
    "ORDERNUMMER",
    "BESTELLING",
    "BESTELLUNG",
    "RECHNUNG",
    "FACTUUR",
    "INVOICE",
    "ORDER",
)


def normalise(text: str) -> str:
    """Upper case, letters and digits only: '#1001' -> '1001', 'WC-1234' -> 'WC1234'."""
    upper = text.upper()
    if upper.isascii() and upper.isalnum():
        return upper
    return _NOT_ALNUM.sub("", upper)


def strip_zeros(token: str) -> str:
    """Drop leading zeros of the digit run that follows a letter prefix (or stands alone)."""
    head = token.rstrip(_DIGITS)
    if len(head) == len(token) or (head and not head.isalpha()):
        return token  # no trailing digits, or mixed letters and digits before them
    digits = token[len(head) :].lstrip("0") or "0"
    return head + digits


def _strip_prefix_word(upper: str) -> str:
    for word in PREFIX_WORDS:
        if upper.startswith(word) and len(upper) > len(word) and not upper[len(word)].isalnum():
            return upper[len(word) :]
    return upper


KeyFunction = Callable[[str], list[str]]


def make_key_function(
    *,
    strip_leading_zeros: bool,
    min_length: int,
    require_digit: bool,
    regex: str | None = None,
) -> KeyFunction:
    """Build ``keys(text) -> list of distinct keys`` for one profile's settings.

    Words are split on whitespace and the separators above; each word is normalised, a
    glued-on prefix word is removed, and the result is kept only when it is long enough and
    (unless ``require_digit`` is off) contains a digit, so plain words such as names never
    act as references. With ``regex`` the references are what the expression finds instead.
    """
    separators = _SEPARATORS
    not_alnum = _NOT_ALNUM

    def finish(upper: str, out: list[str]) -> None:
        if not (upper.isascii() and upper.isalnum()):
            upper = not_alnum.sub("", _strip_prefix_word(upper))
            if not upper:
                return
        if require_digit and upper.isalpha():
            return
        if strip_leading_zeros and upper[-1] in _DIGITS:
            upper = strip_zeros(upper)
        if len(upper) >= min_length and upper not in out:
            out.append(upper)

    if regex is None:

        def keys(text: str) -> list[str]:
            out: list[str] = []
            for word in text.translate(separators).split():
                finish(word.upper(), out)
            return out

        return keys

    pattern = re.compile(regex)
    group: int | str = "ref" if "ref" in pattern.groupindex else (1 if pattern.groups else 0)

    def regex_keys(text: str) -> list[str]:
        out: list[str] = []
        for match in pattern.finditer(text):
            found = match.group(group)
            if found:
                finish(found.strip().upper(), out)
        return out

    return regex_keys
