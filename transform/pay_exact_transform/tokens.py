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

# Characters that separate references inside a text, besides whitespace; characters outside
# ASCII separate too. Every other character that is not a letter or digit is a *joiner*
# ('-', '.', '#', '_', ...): it sits inside references such as WC-1234 or 2025.0042 and is
# dropped, so 'WC-1234' and 'WC1234' are one reference.
SEPARATORS = ",/;:|()[]{}<>\"'+&=*!?"

# Words that introduce a number in descriptions, e.g. 'Order:1234', 'Order-1234',
# 'Bestelling:  10023', 'Bestelnummer 1042, factuurnummer 20001'. Written apart from the
# number they disappear anyway (a word without digits is not a reference); they are removed
# when glued on with a joiner. Longer words first, so 'ORDERNUMMER' wins over 'ORDER'.
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

# One byte table does the character classes in C: letters and digits stay, separators and
# whitespace become a space, joiners become '-' (removed per word after prefix handling).
_JOIN = "-"


def _byte_table() -> bytes:
    table = bytearray(range(256))
    for code in range(256):
        char = chr(code)
        if code < 128 and (char.isdigit() or char.isupper()):
            continue
        table[code] = ord(" ") if char in SEPARATORS or char.isspace() else ord(_JOIN)
    return bytes(table)


_TABLE = _byte_table()
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_DIGITS = "0123456789"


def normalise(text: str) -> str:
    """Upper case, letters and digits only: '#1001' -> '1001', 'WC-1234' -> 'WC1234'."""
    upper = text.upper()
    if upper.isascii() and upper.isalnum():
        return upper
    return _NOT_ALNUM.sub("", upper)


def strip_zeros(token: str) -> str:
    """Drop leading zeros of the digit run that follows a letter prefix (or stands alone)."""
    if token.isdigit():
        return (token.lstrip("0") or "0") if token[0] == "0" else token
    head = token.rstrip(_DIGITS)
    cut = len(head)
    if cut == len(token) or token[cut] != "0" or not head.isalpha():
        return token  # no trailing digits, no leading zero, or letters mixed with digits
    return head + (token[cut:].lstrip("0") or "0")


def words(text: str) -> list[str]:
    """The candidate references of a text: upper-case runs of letters and digits.

    Separators split, joiners are dropped, and a prefix word glued on with a joiner
    ('Order-1234') is removed.
    """
    upper = text.upper()
    if upper.isalnum() and upper.isascii():
        return [upper]
    out = []
    # Non-ASCII characters become '?', a separator.
    for raw in upper.encode("ascii", "replace").translate(_TABLE).decode("ascii").split():
        if _JOIN not in raw:
            out.append(raw)
            continue
        word = raw
        if raw.startswith(PREFIX_WORDS):
            for prefix in PREFIX_WORDS:
                if raw.startswith(prefix) and raw[len(prefix)] == _JOIN:
                    word = raw[len(prefix) :]
                    break
        word = word.replace(_JOIN, "")
        if word:
            out.append(word)
    return out


KeyFunction = Callable[[str], list[str]]


def make_key_function(
    *,
    strip_leading_zeros: bool,
    min_length: int,
    require_digit: bool,
    regex: str | None = None,
) -> KeyFunction:
    """Build ``keys(text) -> list of distinct keys`` for one profile's settings.

    A key is a word of ``words(text)`` that is long enough and (unless ``require_digit`` is
    off) contains a digit, so plain words such as names never act as references. With
    ``regex`` the references are what the expression finds instead, each one normalised as a
    whole. This runs for every field of every payment and open item, hence the inlined fast
    paths.
    """
    digits = _DIGITS
    not_alnum = _NOT_ALNUM.sub

    def to_keys(found: list[str]) -> list[str]:
        out: list[str] = []
        for word in found:
            if require_digit and word.isalpha():
                continue
            key = word
            if strip_leading_zeros and word[-1] in digits:
                if word.isdigit():
                    if word[0] == "0":
                        key = word.lstrip("0") or "0"
                elif "0" in word:
                    key = strip_zeros(word)
            if len(key) >= min_length and key not in out:
                out.append(key)
        return out

    if regex is None:

        def keys(text: str) -> list[str]:
            if text.isdigit() and text.isascii():  # the commonest shape: a plain number
                if strip_leading_zeros and text[0] == "0":
                    text = text.lstrip("0") or "0"
                return [text] if len(text) >= min_length else []
            return to_keys(words(text))

        return keys

    pattern = re.compile(regex)
    group: int | str = "ref" if "ref" in pattern.groupindex else (1 if pattern.groups else 0)

    def regex_keys(text: str) -> list[str]:
        found = (m.group(group) for m in pattern.finditer(text))
        return to_keys([n for n in (not_alnum("", f.upper()) for f in found if f) if n])

    return regex_keys
