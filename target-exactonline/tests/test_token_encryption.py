"""Stored Exact tokens encrypted with the operator's key: what the database holds, what a wrong or
missing key does, rotation, and one customer's run never obtaining another's tokens."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from target_exactonline.exact_client.redaction import redact
from target_exactonline.exact_client.settings import ExactSettings, SettingsError
from target_exactonline.exact_client.testing import require_postgres_url, unique_table_name
from target_exactonline.exact_client.token_cipher import KEY_SETTING, TokenCipher, TokenKeyError
from target_exactonline.exact_client.token_store import SqlTokenStore, TokenSet
from target_exactonline.settings import TargetSettings
from target_exactonline.token_keys import new_key, rotate

KEY_A = TokenCipher.new_key()
KEY_B = TokenCipher.new_key()
ACCESS = "access-SECRET-4f1c9a7e2b"
REFRESH = "refresh-SECRET-9d8e7f6a5b"


def tokens(access: str = ACCESS, refresh: str = REFRESH) -> TokenSet:
    return TokenSet(access, refresh, expires_at=1_800_000_600.0, issued_at=1_800_000_000.0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    table = unique_table_name()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tokens.sqlite'}"
    else:
        url = require_postgres_url()
    yield url, table
    cleanup = SqlTokenStore(url, table_name=table)
    cleanup.drop_schema()
    cleanup.close()


def open_store(spec: tuple[str, str], key: str | None, country: str = "nl") -> SqlTokenStore:
    url, table = spec
    return SqlTokenStore(
        url, table_name=table, country=country, cipher=TokenCipher.from_setting(key)
    )


def read(spec: tuple[str, str], key: str | None, name: str) -> TokenSet | None:
    store = open_store(spec, key)
    try:
        return store.load(name)
    finally:
        store.close()


def raw_rows(spec: tuple[str, str]) -> list[tuple[str, ...]]:
    url, table = spec
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.text(f"SELECT * FROM {table}")  # noqa: S608 - a test's table name
            return [tuple(str(v) for v in row) for row in conn.execute(query)]
    finally:
        engine.dispose()


def test_the_database_holds_no_token_text(spec: tuple[str, str]) -> None:
    store = open_store(spec, KEY_A)
    store.put("acme", tokens())
    assert store.load("acme") == tokens()
    store.close()
    (row,) = raw_rows(spec)
    text = " ".join(row)
    assert ACCESS not in text
    assert REFRESH not in text
    assert "SECRET" not in text
    assert sum(value.startswith("fernet:") for value in row) == 2


def test_without_the_key_the_tokens_cannot_be_read(spec: tuple[str, str]) -> None:
    writer = open_store(spec, KEY_A)
    writer.put("acme", tokens())
    writer.close()
    for key in (None, KEY_B):
        reader = open_store(spec, key)
        with pytest.raises(TokenKeyError, match=KEY_SETTING) as caught:
            reader.load("acme")
        assert "SECRET" not in str(caught.value)
        assert KEY_A not in str(caught.value)
        reader.close()


def test_rotation_new_key_first_old_still_decrypts_then_retired(spec: tuple[str, str]) -> None:
    old = open_store(spec, KEY_A)
    old.put("acme", tokens())
    old.close()
    before = raw_rows(spec)

    both = open_store(spec, f"{KEY_B},{KEY_A}")
    assert both.load("acme") == tokens()  # the old key still opens the row
    assert both.rotate("acme") is True
    assert both.rotate("nobody") is False
    both.close()
    assert raw_rows(spec) != before

    new_only = open_store(spec, KEY_B)
    assert new_only.load("acme") == tokens()
    new_only.close()
    retired = open_store(spec, KEY_A)
    with pytest.raises(TokenKeyError):
        retired.load("acme")
    retired.close()


def test_a_plain_text_row_from_before_is_read_and_encrypted_by_rotation(
    spec: tuple[str, str],
) -> None:
    plain = open_store(spec, None)
    plain.put("acme", tokens())
    plain.close()
    assert ACCESS in " ".join(raw_rows(spec)[0])

    keyed = open_store(spec, KEY_A)
    assert keyed.load("acme") == tokens()
    keyed.rotate("acme")
    keyed.close()
    assert ACCESS not in " ".join(raw_rows(spec)[0])
    assert read(spec, KEY_A, "acme") == tokens()


def test_a_row_copied_onto_another_customer_does_not_open_as_theirs(
    spec: tuple[str, str],
) -> None:
    # Both customers under one key (an operator who shares it): the binding still tells apart.
    store = open_store(spec, KEY_A)
    store.put("acme", tokens())
    store.put("bloom", tokens("access-bloom-0001", "refresh-bloom-0001"))
    store.close()
    url, table = spec
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        (access, refresh) = conn.execute(
            sa.text(f"SELECT access_token, refresh_token FROM {table} WHERE token_key = 'acme'")  # noqa: S608
        ).one()
        conn.execute(
            sa.text(
                f"UPDATE {table} SET access_token = :a, refresh_token = :r "  # noqa: S608
                "WHERE token_key = 'bloom'"
            ),
            {"a": access, "r": refresh},
        )
    engine.dispose()
    with pytest.raises(TokenKeyError, match="written for another connection"):
        read(spec, KEY_A, "bloom")


def test_tokens_are_kept_per_country(spec: tuple[str, str]) -> None:
    nl = open_store(spec, KEY_A, "nl")
    be = open_store(spec, KEY_B, "be")
    nl.put("shop", tokens())
    assert be.load("shop") is None
    be.put("shop", tokens("access-be-0001", "refresh-be-0001"))
    assert nl.load("shop") == tokens()
    assert be.load("shop") == tokens("access-be-0001", "refresh-be-0001")
    nl.close()
    be.close()


# -- through the product's settings -----------------------------------------------------------


def config(store_url: str, **changes: object) -> dict[str, object]:
    return {
        "client_id": "app",
        "client_secret": "app-secret",
        "division": 42,
        "store_url": store_url,
        "store_key": "acme",
        "exact_country": "nl",
        KEY_SETTING: KEY_A,
        **changes,
    }


def load_own(settings: ExactSettings) -> TokenSet | None:
    """The tokens a run with ``settings`` obtains from the store."""
    store = settings.token_store()
    try:
        return store.load(settings.token_store_key)
    finally:
        store.close()


@pytest.mark.postgres
def test_another_customers_configuration_cannot_obtain_the_tokens() -> None:
    url = require_postgres_url()
    store_key = unique_table_name("cust")  # a key name no other test uses
    a = ExactSettings.from_config(config(url, store_key=store_key), environ={})
    owner = a.token_store()
    owner.put(a.token_store_key, tokens())
    try:
        # Customer B: its own name, country and key, the same division number.
        b = ExactSettings.from_config(
            config(url, store_key=f"{store_key}-b", exact_country="be", **{KEY_SETTING: KEY_B}),
            environ={},
        )
        assert load_own(b) is None
        # B's country with A's name: not A's row either.
        be = ExactSettings.from_config(
            config(url, store_key=store_key, exact_country="be", **{KEY_SETTING: KEY_B}),
            environ={},
        )
        assert load_own(be) is None
        # A's name and country with B's key: A's row exists but does not decrypt.
        guess = ExactSettings.from_config(
            config(url, store_key=store_key, **{KEY_SETTING: KEY_B}), environ={}
        )
        with pytest.raises(TokenKeyError, match="does not decrypt") as caught:
            load_own(guess)
        assert "SECRET" not in str(caught.value)
    finally:
        owner.delete(a.token_store_key)
        owner.close()


@pytest.mark.postgres
def test_a_shared_store_without_a_key_refuses_to_start() -> None:
    url = require_postgres_url()
    for load in (
        lambda c: ExactSettings.from_config(c, environ={}),
        lambda c: TargetSettings.from_config(
            {
                **c,
                "bank_journal": "25",
                **{f"gl_{r}": "1" for r in ("debtors", "psp_costs", "payouts", "unassigned")},
            }
        ),
    ):
        with pytest.raises(SettingsError, match=f"setting '{KEY_SETTING}' is required"):
            load(config(url, **{KEY_SETTING: ""}))
        load(config(url))  # with the key it starts


def test_sqlite_needs_no_key_and_a_malformed_key_is_named_not_shown(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tokens.sqlite'}"
    assert (
        load_own(ExactSettings.from_config(config(url, **{KEY_SETTING: None}), environ={})) is None
    )
    bad = "not-a-fernet-key-but-secret-ish"
    with pytest.raises(SettingsError, match=KEY_SETTING) as caught:
        ExactSettings.from_config(config(url, **{KEY_SETTING: bad}), environ={})
    assert bad not in str(caught.value)
    # The key is registered as a secret: redaction hides it wherever it would be logged.
    assert bad not in redact(f"config says {bad}")
    assert KEY_A not in repr(ExactSettings.from_config(config(url), environ={}))


def test_rotate_command_re_encrypts_the_customers_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tokens.sqlite'}"
    first = ExactSettings.from_config(config(url), environ={})
    store = first.token_store()
    store.put(first.token_store_key, tokens())
    store.close()
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config(url, **{KEY_SETTING: f"{KEY_B}, {KEY_A}"})))
    assert rotate(["--config", str(config_file)], environ={}) == 0
    after = ExactSettings.from_config(config(url, **{KEY_SETTING: KEY_B}), environ={})
    assert load_own(after) == tokens()


def test_new_key_prints_a_fresh_usable_key() -> None:
    printed = []
    for _ in range(2):
        out = io.StringIO()
        assert new_key(out) == 0
        printed.append(out.getvalue().strip())
    assert printed[0] != printed[1]
    cipher = TokenCipher([printed[0]])
    assert cipher.decrypt("nl/x", cipher.encrypt("nl/x", "token"), field="t") == "token"
