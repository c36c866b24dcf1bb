"""``crm/Accounts`` writes: create (``Name`` mandatory [C]), update and delete."""

from __future__ import annotations

from typing import Any

from .errors import ExactError, bad_request, business
from .schema import ACCOUNT
from .store import ExactStore
from .values import pad_account_code

Row = dict[str, Any]

_WRITABLE = frozenset(ACCOUNT.fields) - ACCOUNT.read_only


def _check(body: Row) -> None:
    if not isinstance(body, dict):
        raise bad_request("bad_body")
    for name in body:
        if name == "__metadata":
            continue
        if name not in ACCOUNT.fields:
            raise bad_request("unknown_property", prop=name, type=ACCOUNT.metadata_type)


def create_account(store: ExactStore, body: Row) -> Row:
    _check(body)
    if not body.get("Name"):
        raise business("name_required")
    spec = {k: v for k, v in body.items() if k in _WRITABLE}
    code = spec.get("Code")
    if code is not None and len(str(code).strip()) > 18:
        raise business("type_conversion", prop="Code", type="String(18)")
    # Without a Code Exact probably assigns the next free one [I].
    spec.pop("ID", None)
    spec["ID"] = store.new_guid("account")
    account = store.add_account(spec)
    # Other documented, writable properties (Website, AddressLine1, ...) are kept as sent.
    account.update({k: v for k, v in spec.items() if k not in account})
    return account


def update_account(store: ExactStore, key: str, body: Row) -> None:
    _check(body)
    account = store.accounts.get(key)
    if account is None:
        raise ExactError(404, "not_found", {"what": f"Accounts(guid'{key}')"})
    changes = {k: v for k, v in body.items() if k in _WRITABLE}
    if "Code" in changes:
        padded = pad_account_code(changes["Code"])
        other = store.account_by_padded_code(padded)
        if other is not None and other["ID"] != key:
            raise business("already_exists")  # [C] "Gegeven bestaat reeds" (PICQER#416)
        changes["Code"] = padded
        store.account_codes.pop(account["Code"], None)
        store.account_codes[padded] = key
    if "Name" in changes and not changes["Name"]:
        raise business("name_required")
    account.update(changes)
    account["Modified"] = store.now()
    account["Timestamp"] = store.next_rowversion()


def delete_account(store: ExactStore, key: str) -> None:
    if key not in store.accounts:
        raise ExactError(404, "not_found", {"what": f"Accounts(guid'{key}')"})
    if any(r["Account"] == key for r in store.receivables.values()) or any(
        t["Account"] == key for t in store.transaction_lines.values()
    ):
        raise business("in_use")
    store.account_codes.pop(store.accounts[key]["Code"], None)
    del store.accounts[key]
