"""``python -m tap_pay``."""

from tap_pay.cli import main

main()
