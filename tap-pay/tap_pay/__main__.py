"""``python -m tap_pay``."""

from tap_pay.tap import TapPay

TapPay.cli()
