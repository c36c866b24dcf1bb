"""tap-pay's console script: the SDK's command line, with the tap's own errors in one line, and
``tap-pay check`` (the self-check of the Pay. facts a run relies on, ``check.py``).

The tap's errors already say what failed and what to do (a credential, a permission, an endpoint
and field); a Python traceback above them only buries that for whoever reads the log.
"""

from __future__ import annotations

import sys

from tap_pay.errors import (
    MalformedResponseError,
    PayAuthenticationError,
    PayPermissionError,
    PayRequestError,
    PayUnavailableError,
)
from tap_pay.tap import TapPay

TAP_ERRORS = (
    PayAuthenticationError,
    PayPermissionError,
    PayUnavailableError,
    PayRequestError,
    MalformedResponseError,
)


def main() -> None:
    if sys.argv[1:2] == ["check"]:
        from tap_pay.check import run  # noqa: PLC0415

        raise SystemExit(run(sys.argv[2:]))
    try:
        TapPay.cli()
    except TAP_ERRORS as exc:
        print(f"tap-pay: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
