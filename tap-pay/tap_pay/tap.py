"""TapPay: the Singer tap for Pay. (pay.nl) payouts, payments and fees."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_pay.about import SettingsMarkdown
from tap_pay.settings import CONFIG_SCHEMA, check
from tap_pay.streams import build_streams


class TapPay(Tap):
    """Pay. GMS v2: settlements, clearings, clearing lines and records, fees, revenue groups."""

    name = "tap-pay"
    config_jsonschema = CONFIG_SCHEMA

    def discover_streams(self) -> list[Stream]:
        return build_streams(self)

    @classmethod
    def print_about(cls, output_format: str | None = None) -> None:
        if output_format == "markdown":
            print(SettingsMarkdown().format_about(cls._get_about_info()))
            return
        super().print_about(output_format)

    def sync_all(self) -> None:
        self.warn_about_enrichment_selection()
        super().sync_all()

    def warn_about_enrichment_selection(self) -> None:
        """Enrichment needs both the setting and the stream; one without the other does nothing."""
        enrich = bool(self.config.get("enrich_transactions"))
        selected = self.streams["transactions"].selected
        if enrich and not selected:
            self.logger.warning(
                "enrich_transactions is on but the transactions stream is not selected: no "
                "Transaction:Info is read. Select transactions.* to enrich."
            )
        elif selected and not enrich:
            self.logger.warning(
                "The transactions stream is selected but enrich_transactions is off: it stays "
                "empty. Set enrich_transactions to true to read Transaction:Info."
            )

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
