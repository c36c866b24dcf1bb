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
