"""TapPay: the Singer tap for Pay. (pay.nl) payouts, payments and fees."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_pay.settings import CONFIG_SCHEMA, check
from tap_pay.streams import build_streams


class TapPay(Tap):
    """Pay. GMS v2: settlements, clearings, clearing lines and records, fees, revenue groups."""

    name = "tap-pay"
    config_jsonschema = CONFIG_SCHEMA

    def discover_streams(self) -> list[Stream]:
        return build_streams(self)

    def sync_all(self) -> None:
        for warning in self.details_warnings():
            self.logger.warning(warning)
        super().sync_all()

    def details_warnings(self) -> list[str]:
        """Settings under which the per-payment transaction details silently stay away."""
        enrich = bool(self.config.get("enrich_transactions", False))
        selected = self.streams["transactions"].selected
        if enrich and not selected:
            return [
                "enrich_transactions is on but the transactions stream is not selected: no "
                "transaction details (extra1..3, customer e-mail) are read or sent, and "
                "profiles that need them (Shopify, Magento 2, PrestaShop) match without them. "
                "Select it (meltano.yml select: transactions.*) or turn enrich_transactions off"
            ]
        if selected and not enrich:
            return [
                "the transactions stream is selected but enrich_transactions is off: the stream "
                "stays empty; turn enrich_transactions on to read the transaction details"
            ]
        return []

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK's own hook for config checks; adds what JSON schema cannot express.
        errors = super()._validate_config(raise_errors=raise_errors)
        extra = check(self.config)
        if extra and raise_errors:
            raise ConfigValidationError(
                "Config validation failed", errors=extra, schema=self.config_jsonschema
            )
        return errors + extra


if __name__ == "__main__":
    TapPay.cli()
