"""Test support: point the target at a running Exact sandbox (tokens, settings, a client).

Only tests import this module; the sandbox is a stand-in for Exact Online and knows nothing of
the target, so what ties the two together lives here, on the target's side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from target_exactonline.exact_client import SqlTokenStore, TokenSet
from target_exactonline.exact_client.countries import DEFAULT_COUNTRY
from target_exactonline.exact_client.settings import ExactSettings
from target_exactonline.exact_client.token_cipher import TokenCipher

if TYPE_CHECKING:
    from pay_exact_sandbox.exact.pytest_fixtures import ExactSandbox

# The journals and G/L accounts a payout is booked with, by the codes both the sandbox's small
# fixture and its generator's divisions use.
TARGET_BOOKS = {
    "bank_journal": "25",
    "sales_journal": "70",
    "gl_debtors": "1300",
    "gl_psp_costs": "4390",
    "gl_payouts": "2050",
    "gl_unassigned": "2090",
}
TOKEN_LIFETIME = 600  # seconds the tokens put by ``store_target_tokens`` stay valid


def store_target_tokens(
    sandbox: ExactSandbox,
    store_url: str,
    *,
    key: str = "acme",
    issued_at: float | None = None,
    country: str = DEFAULT_COUNTRY,
    encryption_key: str | None = None,
) -> None:
    """Put a token pair minted by ``sandbox`` in the target's token store under ``key`` (of
    ``country``, encrypted with ``encryption_key`` when given), as a consent leaves it; issued at
    ``issued_at`` (default: the sandbox clock's now)."""
    store = SqlTokenStore(
        store_url, country=country, cipher=TokenCipher.from_setting(encryption_key)
    )
    minted = sandbox.mint_tokens()
    now = sandbox.admin.clock.now() if issued_at is None else issued_at
    expires_at = now + TOKEN_LIFETIME
    store.put(key, TokenSet(minted["access_token"], minted["refresh_token"], expires_at, now))
    store.close()


def target_config(sandbox: ExactSandbox, store_url: str, **changes: Any) -> dict[str, Any]:
    """Target settings for ``sandbox``, its tokens in ``store_url`` under "acme" and the books
    in ``TARGET_BOOKS``; ``changes`` add or replace settings."""
    return {
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "exact_base_url": sandbox.url,
        "division": sandbox.division,
        **TARGET_BOOKS,
        "store_url": store_url,
        "store_key": "acme",
        **changes,
    }


def target_client_factory(sandbox: ExactSandbox, config: dict[str, Any]) -> Callable[[Any], Any]:
    """A ``client_factory`` for ``TargetExactOnline``: its Exact client for ``config``, on the
    sandbox clock (waits advance the clock instead of sleeping)."""

    def factory(_settings: Any) -> Any:
        return ExactSettings.from_config(config).client(
            clock=sandbox.admin.clock.now, sleep=sandbox.advance
        )

    return factory
