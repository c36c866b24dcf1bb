"""Each customer's secrets, handed to that customer's run only.

A secret provider answers one question: the variables (``ACME_PAY_API_TOKEN``,
``ACME_EXACT_CLIENT_SECRET``, ...) that customer's environment file references. They go into
the environment of that one ``meltano`` process and nowhere else: not into a file of the run,
not into the orchestrator's own environment, not into Dagster's run config or logs.

Every name must start with the customer's prefix, so that one customer's secrets can never
replace another's, nor a plugin setting (``TARGET_EXACTONLINE_STORE_URL``) or a Meltano one.

The default provider reads an owner-only file per customer. Another store (Vault, a cloud
secret manager) plugs in as any object with the same ``secrets_for`` method; see the README.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from pay_exact_orchestrate.customers import Customer


class SecretsError(RuntimeError):
    """A customer's secrets cannot be handed out safely; the message names no secret value."""


class SecretProvider(Protocol):
    def secrets_for(self, customer: Customer) -> Mapping[str, str]:
        """The customer's secret variables, names starting with ``customer.secret_prefix``."""
        ...


def checked(customer: Customer, secrets: Mapping[str, str]) -> dict[str, str]:
    """``secrets`` if every name belongs to ``customer``; raises naming the first that does not."""
    for name in secrets:
        if not name.startswith(customer.secret_prefix):
            raise SecretsError(
                f"{customer.name}: secret {name!r} is not named after the customer "
                f"(it must start with {customer.secret_prefix})"
            )
    return dict(secrets)


class OwnerOnlyFileSecrets:
    """``<folder>/<customer>.env``: ``NAME=value`` lines, readable by its owner only.

    A file that group or others may read (or write) is refused, as ``ssh`` refuses a private
    key: whoever else can read it has the customer's Pay. and Exact credentials.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, customer: Customer) -> Path:
        return self.folder / f"{customer.name}.env"

    def secrets_for(self, customer: Customer) -> dict[str, str]:
        path = self.path(customer)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise SecretsError(f"{customer.name}: no secrets file {path}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretsError(
                f"{customer.name}: {path} may be read or changed by others "
                f"(mode {stat.filemode(mode)}); allow its owner only: chmod 600 {path}"
            )
        secrets: dict[str, str] = {}
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                # The line may hold a secret: say where it is, never what it says.
                raise SecretsError(f"{customer.name}: {path} line {number} is not NAME=value")
            secrets[name.strip()] = value.strip()
        return checked(customer, secrets)
