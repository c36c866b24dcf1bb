"""OData v2 ``$filter``: a small parser that type-checks against the entity and compiles to Python.

Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses, literals (``'text'`` with ``''``
escapes, ``guid'..'``, ``datetime'..'``, ``12``, ``12L``, ``1.5``/``1.5M``/``1.5d``, ``true``,
``false``, ``null``) and the functions ``substringof``, ``startswith``, ``endswith``,
``tolower``, ``toupper``, ``trim``. Navigation paths (``Lines/AmountFC``) and field-to-field
comparisons are refused, as Exact refuses them [C].
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ExactError, odata_error
from .schema import EDM_NAMES, EntityType, FieldType
from .values import GUID_RE, parse_date

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<typed>(?:guid|datetime|datetimeoffset)'[^']*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_/.]*)
    """,
    re.VERBOSE,
)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_NUMERIC: set[str] = {"int", "int64", "dec"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass
class Expr:
    """A compiled sub-expression: its OData type and how to compute it for a row."""

    kind: str  # a FieldType, "null", or "bool" for predicates
    get: Callable[[Row], Any]
    is_field: bool = False
    pos: int = 0


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise odata_error(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, entity: EntityType) -> None:
        self.text = text
        self.entity = entity
        self.tokens = _tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------
    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise odata_error(f"Expression expected at the end of '{self.text}'.")
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text == word:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text != text:
            raise odata_error(f"'{text}' expected at position {token.pos} in '{self.text}'.")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Predicate:
        expr = self.parse_or()
        if self.peek() is not None:
            token = self.peek()
            assert token is not None
            raise odata_error(f"Syntax error at position {token.pos} in '{self.text}'.")
        self._require_bool(expr)
        return lambda row: expr.get(row) is True

    def parse_or(self) -> Expr:
        return self._parse_chain("or", self.parse_and, decided_by=True)

    def parse_and(self) -> Expr:
        return self._parse_chain("and", self.parse_not, decided_by=False)

    def _parse_chain(self, word: str, operand: Callable[[], Expr], *, decided_by: bool) -> Expr:
        """``operand (word operand)*``, left to right; a left side that is ``decided_by``
        (true for ``or``, not true for ``and``) decides without evaluating the right side."""
        left = operand()
        while self.keyword(word):
            right = operand()
            self._require_bool(left)
            self._require_bool(right)
            a, b = left.get, right.get

            def combined(
                row: Row, a: Callable[[Row], Any] = a, b: Callable[[Row], Any] = b
            ) -> bool:
                first = a(row) is True
                return first if first is decided_by else b(row) is True

            left = Expr("bool", combined)
        return left

    def parse_not(self) -> Expr:
        if self.keyword("not"):
            inner = self.parse_not()
            self._require_bool(inner)
            get = inner.get
            return Expr("bool", lambda row: get(row) is not True)
        return self.parse_comparison()

    def parse_comparison(self) -> Expr:
        left = self.parse_primary()
        token = self.peek()
        if token is not None and token.kind == "name" and token.text in _COMPARISONS:
            self.i += 1
            right = self.parse_primary()
            return _compare(token.text, left, right, token.pos)
        return left

    def parse_primary(self) -> Expr:
        token = self.next()
        if token.text == "(":
            inner = self.parse_or()
            self.expect(")")
            return inner
        if token.kind == "string":
            value = token.text[1:-1].replace("''", "'")
            return Expr("str", lambda _row: value, pos=token.pos)
        if token.kind == "typed":
            return _typed_literal(token)
        if token.kind == "number":
            return _number_literal(token)
        if token.kind == "name":
            word = token.text
            if word in ("true", "false"):
                flag = word == "true"
                return Expr("bool", lambda _row: flag, pos=token.pos)
            if word == "null":
                return Expr("null", lambda _row: None, pos=token.pos)
            nxt = self.peek()
            if nxt is not None and nxt.text == "(":
                return self.parse_function(token)
            return self.field(token)
        raise odata_error(f"Syntax error at position {token.pos} in '{self.text}'.")

    def parse_function(self, name: Token) -> Expr:
        self.expect("(")
        args: list[Expr] = []
        if self.peek() is not None and self.peek().text != ")":  # type: ignore[union-attr]
            args.append(self.parse_or())
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.i += 1
                args.append(self.parse_or())
        self.expect(")")
        return _function(name, args)

    def field(self, token: Token) -> Expr:
        name = token.text
        if "/" in name:
            raise odata_error(
                f"Filtering on navigation properties is not supported ('{name}' at position "
                f"{token.pos})."
            )
        kind = self.entity.fields.get(name)
        if kind is None:
            raise odata_error(
                f"No property '{name}' exists in type '{self.entity.metadata_type}' at "
                f"position {token.pos}."
            )
        return Expr(kind, lambda row: row.get(name), is_field=True, pos=token.pos)

    @staticmethod
    def _require_bool(expr: Expr) -> None:
        if expr.kind != "bool":
            raise odata_error(
                f"Expression of type '{EDM_NAMES.get(expr.kind, expr.kind)}' at position "
                f"{expr.pos} is not a condition."
            )


def _typed_literal(token: Token) -> Expr:
    prefix, _, rest = token.text.partition("'")
    value = rest[:-1]
    if prefix == "guid":
        if not GUID_RE.match(value):
            raise odata_error(f"Unrecognized 'Edm.Guid' literal '{token.text}' at {token.pos}.")
        guid = value.lower()
        return Expr("guid", lambda _row: guid, pos=token.pos)
    try:
        moment = parse_date(value)
    except ValueError as exc:
        raise odata_error(
            f"Unrecognized 'Edm.DateTime' literal '{token.text}' at {token.pos}."
        ) from exc
    return Expr("date", lambda _row: moment, pos=token.pos)


def _number_literal(token: Token) -> Expr:
    text = token.text
    suffix = text[-1].upper() if text[-1].isalpha() else ""
    digits = text[:-1] if suffix else text
    try:
        value = Decimal(digits)
    except InvalidOperation as exc:  # pragma: no cover - the token regex only admits numbers
        raise odata_error(f"Bad number '{text}' at position {token.pos}.") from exc
    if suffix == "L" or (not suffix and value == value.to_integral_value() and "." not in text):
        kind: FieldType = "int64" if suffix == "L" else "int"
    else:
        kind = "dec"
    return Expr(kind, lambda _row: value, pos=token.pos)


def _norm_str(value: str) -> str:
    # SQL Server compares case-insensitively and ignores trailing blanks [I]; leading blanks
    # count, which is why an unpadded account Code matches nothing [C].
    return value.rstrip().casefold()


def _comparable(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "str":
        return _norm_str(str(value))
    if kind == "guid":
        return str(value).lower()
    if kind in _NUMERIC:
        return Decimal(value) if not isinstance(value, Decimal) else value
    return value


def _compare(op: str, left: Expr, right: Expr, pos: int) -> Expr:
    if left.is_field and right.is_field:
        raise odata_error(f"Comparing two properties is not supported (position {pos}).")
    kinds = {left.kind, right.kind}
    compatible = (
        left.kind == right.kind or "null" in kinds or kinds <= _NUMERIC or (kinds <= {"date"})
    )
    if not compatible:
        raise odata_error(
            f"Operator '{op}' incompatible with operand types "
            f"'{EDM_NAMES.get(left.kind, left.kind)}' and "
            f"'{EDM_NAMES.get(right.kind, right.kind)}' at position {pos}."
        )
    if "null" in kinds and op not in ("eq", "ne"):
        raise odata_error(f"Operator '{op}' cannot compare with null (position {pos}).")
    kind = left.kind if left.kind != "null" else right.kind
    lget, rget = left.get, right.get

    def test(row: Row) -> bool:
        a = _comparable(kind, lget(row))
        b = _comparable(kind, rget(row))
        if op == "eq":
            return a == b
        if op == "ne":
            return a != b
        if a is None or b is None:
            return False
        if op == "gt":
            return a > b
        if op == "ge":
            return a >= b
        if op == "lt":
            return a < b
        return a <= b

    return Expr("bool", test, pos=pos)


def _function(name: Token, args: list[Expr]) -> Expr:
    fn = name.text
    arity = {
        "substringof": 2,
        "startswith": 2,
        "endswith": 2,
        "tolower": 1,
        "toupper": 1,
        "trim": 1,
    }
    if fn not in arity:
        raise odata_error(f"Unknown function '{fn}' at position {name.pos}.")
    if len(args) != arity[fn]:
        raise odata_error(f"Function '{fn}' takes {arity[fn]} arguments (position {name.pos}).")
    for arg in args:
        if arg.kind != "str":
            raise odata_error(
                f"Function '{fn}' needs string arguments, got "
                f"'{EDM_NAMES.get(arg.kind, arg.kind)}' at position {arg.pos}."
            )
    if fn in ("tolower", "toupper", "trim"):
        get = args[0].get
        conv: Callable[[str], str] = {
            "tolower": str.lower,
            "toupper": str.upper,
            "trim": str.strip,
        }[fn]
        return Expr("str", lambda row: None if get(row) is None else conv(get(row)), pos=name.pos)
    a, b = args[0].get, args[1].get

    def test(row: Row) -> bool:
        first, second = a(row), b(row)
        if first is None or second is None:
            return False
        x, y = str(first).casefold(), str(second).casefold()  # case-insensitive [I]
        if fn == "substringof":
            return x in y  # substringof(needle, haystack)
        if fn == "startswith":
            return y == "" or x.startswith(y)
        return x.endswith(y)

    return Expr("bool", test, pos=name.pos)


def compile_filter(text: str, entity: EntityType) -> Predicate:
    """Parse and type-check ``text`` against ``entity``; raise a 400 ExactError when invalid."""
    try:
        return _Parser(text, entity).parse()
    except ExactError:
        raise
    except (ValueError, IndexError) as exc:
        raise odata_error(f"Syntax error in '{text}': {exc}") from exc


def filter_fields(text: str) -> set[str]:
    """Property names a filter mentions (used where Exact restricts the filterable fields)."""
    names: set[str] = set()
    keywords = _COMPARISONS | {"and", "or", "not", "true", "false", "null"}
    tokens = _tokenize(text)
    for index, token in enumerate(tokens):
        if token.kind != "name" or token.text in keywords:
            continue
        follower = tokens[index + 1] if index + 1 < len(tokens) else None
        if follower is not None and follower.text == "(":
            continue
        names.add(token.text)
    return names


def sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first, then values; strings case-insensitively (SQL Server collation [I])."""
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, datetime):
        return (1, value)
    return (1, value)
