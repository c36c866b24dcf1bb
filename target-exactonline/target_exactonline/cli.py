"""``target-exactonline``: the Singer target, plus ``authorize`` for a customer's first consent."""

from __future__ import annotations

import sys

from target_exactonline.exact_client.authorize import run as run_authorize


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["authorize"]:
        raise SystemExit(run_authorize(args[1:]))
    # Imported only here so `authorize` works whatever state the target module is in.
    from target_exactonline.target import TargetExactOnline  # noqa: PLC0415

    TargetExactOnline.cli(args)
