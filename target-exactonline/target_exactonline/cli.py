"""``target-exactonline``: the Singer target, plus ``authorize`` for a customer's first consent,
``check`` (also ``--test``) to see whether a configuration can book into Exact Online, and
``new-token-key`` / ``rotate-token-key`` for the key that encrypts the stored tokens."""

from __future__ import annotations

import sys

from target_exactonline import token_keys
from target_exactonline.exact_client.authorize import run as run_authorize


def _check_args(args: list[str]) -> list[str] | None:
    """The arguments for ``check`` when asked for, as ``check ...`` or as the Singer ``--test``."""
    if args[:1] == ["check"]:
        return args[1:]
    if "--test" in args:
        return [a for a in args if a != "--test"]
    return None


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["authorize"]:
        raise SystemExit(run_authorize(args[1:]))
    if args[:1] == ["new-token-key"]:
        raise SystemExit(token_keys.new_key())
    if args[:1] == ["rotate-token-key"]:
        raise SystemExit(token_keys.rotate(args[1:]))
    check_args = _check_args(args)
    if check_args is not None:
        from target_exactonline.check import run as run_check  # noqa: PLC0415

        raise SystemExit(run_check(check_args))
    # Imported only here so `authorize` works whatever state the target module is in.
    from target_exactonline.exact_client.token_cipher import TokenKeyError  # noqa: PLC0415
    from target_exactonline.run import ClearingsNotBooked  # noqa: PLC0415
    from target_exactonline.run_lock import RunLocked  # noqa: PLC0415
    from target_exactonline.target import TargetExactOnline  # noqa: PLC0415

    try:
        TargetExactOnline.cli(args)
    except (ClearingsNotBooked, RunLocked, TokenKeyError) as exc:
        # Not booked: the booked clearings and their state are already out. Locked, or the
        # tokens do not open with the configured key: nothing was booked and no state written.
        # Either way only the exit code and one line are left.
        print(f"target-exactonline: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
