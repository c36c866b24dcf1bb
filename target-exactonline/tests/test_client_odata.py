"""OData literals, query strings, dates, amounts and request bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from target_exactonline.exact_client.odata import (
    bool_literal,
    datetime_literal,
    dumps,
    guid_literal,
    int64_literal,
    int_literal,
    pad_account_code,
    parse_int64,
    parse_json,
    parse_odata_date,
    query_string,
    quote_string,
)


@pytest.mark.parametrize(
    ("raw", "literal"),
    [
        ("ABC", "'ABC'"),
        ("O'Brien", "'O''Brien'"),
        ("''", "''''''"),
        ("x' or 'a' eq 'a", "'x'' or ''a'' eq ''a'"),
        ("", "''"),
    ],
)
def test_quote_string_doubles_quotes(raw: str, literal: str) -> None:
    assert quote_string(raw) == literal


def test_quote_string_refuses_non_strings_and_nul() -> None:
    with pytest.raises(TypeError):
        quote_string(12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NUL"):
        quote_string("a\x00b")


def test_guid_literal_checks_syntax() -> None:
    value = uuid.UUID("0D4B4A3C-1234-4abc-8def-0123456789ab")
    assert guid_literal(value) == "guid'0d4b4a3c-1234-4abc-8def-0123456789ab'"
    assert guid_literal(str(value).upper()) == "guid'0d4b4a3c-1234-4abc-8def-0123456789ab'"
    for bad in ["", "0d4b", "0d4b4a3c-1234-4abc-8def-0123456789ab') or (1 eq 1", "{0d4b4a3c}"]:
        with pytest.raises(ValueError, match="not a GUID"):
            guid_literal(bad)


def test_datetime_literal_is_zone_less() -> None:
    assert datetime_literal(date(2026, 1, 29)) == "datetime'2026-01-29T00:00:00'"
    assert datetime_literal(datetime(2026, 1, 29, 13, 5, 7, 999)) == "datetime'2026-01-29T13:05:07'"  # noqa: DTZ001 - Exact takes local times
    with pytest.raises(ValueError, match="naive"):
        datetime_literal(datetime(2026, 1, 29, tzinfo=UTC))


def test_int_literals() -> None:
    assert int64_literal(12345) == "12345L"
    assert int64_literal(1) == "1L"
    assert int_literal(24700012) == "24700012"
    assert bool_literal(False) == "false"
    with pytest.raises(TypeError):
        int64_literal(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        int64_literal("5 or 1 eq 1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Int32"):
        int_literal(2**31)
    with pytest.raises(ValueError, match="Int64"):
        int64_literal(2**63)


def test_pad_account_code() -> None:
    assert pad_account_code("1068") == "              1068"
    assert pad_account_code(10042) == "             10042"
    assert pad_account_code("  1068 ") == "              1068"
    assert len(pad_account_code("1")) == 18
    with pytest.raises(ValueError, match="empty"):
        pad_account_code("   ")
    with pytest.raises(ValueError, match="longer"):
        pad_account_code("1" * 19)


def test_parse_odata_date_is_aware_utc() -> None:
    parsed = parse_odata_date("/Date(1641034800000)/")
    assert parsed == datetime(2022, 1, 1, 11, 0, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)
    # An offset suffix says which local time wrote it; the instant stays the same.
    assert parse_odata_date("/Date(1641034800000+0100)/") == parsed
    assert parse_odata_date("/Date(-86400000)/") == datetime(1969, 12, 31, tzinfo=UTC)
    assert parse_odata_date(None) is None
    for bad in ["2022-01-01", "/Date(abc)/", "/Date(1641034800000)"]:
        with pytest.raises(ValueError, match="not an OData date"):
            parse_odata_date(bad)


def test_parse_json_keeps_amounts_decimal() -> None:
    doc = parse_json(b'{"Amount": 121.10, "Small": 0.1, "HID": 7}')
    assert doc["Amount"] == Decimal("121.10")
    assert isinstance(doc["Small"], Decimal)
    assert doc["Small"] + doc["Small"] + doc["Small"] == Decimal("0.3")
    assert doc["HID"] == 7


def test_dumps_sends_decimal_exactly_and_refuses_floats() -> None:
    body = {
        "JournalCode": "25",
        "Lines": [
            {"AmountFC": Decimal("121.10"), "Date": date(2026, 10, 8)},
            {"AmountFC": Decimal("-0.30"), "Date": datetime(2026, 10, 8, 12, 0)},  # noqa: DTZ001
        ],
        "Account": uuid.UUID(int=1),
    }
    text = dumps(body)
    assert '"AmountFC":121.10' in text
    assert '"AmountFC":-0.30' in text
    assert '"Date":"2026-10-08T00:00:00"' in text
    assert '"Date":"2026-10-08T12:00:00"' in text
    assert parse_json(text)["Lines"][0]["AmountFC"] == Decimal("121.10")
    with pytest.raises(TypeError, match=r"\$\.Lines\[1\]\.AmountFC"):
        dumps({"Lines": [{"AmountFC": Decimal(1)}, {"AmountFC": 0.1}]})
    with pytest.raises(ValueError, match="zone-less"):
        dumps({"Date": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1)))})
    with pytest.raises(ValueError, match="finite"):
        dumps({"AmountFC": Decimal("NaN")})


def test_query_string_encodes_values_and_keeps_option_names() -> None:
    nasty = "A&B+C' or 1 eq 1 #"
    query = query_string(
        select=["ID", "Code"],
        filter=f"Name eq {quote_string(nasty)}",
        orderby="Code",
        top=5,
        inlinecount=True,
    )
    assert query.startswith("$select=ID,Code&$filter=")
    decoded = parse_qs(query, keep_blank_values=True)
    assert decoded["$filter"] == ["Name eq 'A&B+C'' or 1 eq 1 #'"]
    assert decoded["$select"] == ["ID,Code"]
    assert decoded["$top"] == ["5"]
    assert decoded["$inlinecount"] == ["allpages"]
    assert set(decoded) == {"$select", "$filter", "$orderby", "$top", "$inlinecount"}


def test_query_string_needs_a_select() -> None:
    with pytest.raises(ValueError, match="select"):
        query_string(select=[])
    with pytest.raises(ValueError, match="top"):
        query_string(select="ID", top=0)


def test_parse_int64_accepts_numbers_and_strings() -> None:
    assert parse_int64("1000001") == 1000001
    assert parse_int64(1000001) == 1000001
    assert parse_int64("12345L") == 12345
    assert parse_int64(None) is None
    for bad in ["12.5", "", True, "1 or 1"]:
        with pytest.raises(ValueError, match="Int64"):
            parse_int64(bad)  # type: ignore[arg-type]
