"""``tap-pay --about --format=markdown``: the SDK's table, plus what a user must know per setting.

The SDK's Markdown table shows neither which settings are secret nor the values a setting
accepts; both are in the settings' JSON schema (``secret``, ``enum``), so they are added to the
description column rather than to a layout of the tap's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from singer_sdk.about import MarkdownFormatter


def setting_notes(schema: dict[str, Any]) -> list[str]:
    notes: list[str] = []
    if schema.get("secret"):
        notes.append("**Secret**: set it through an environment variable; it is never logged.")
    allowed = schema.get("enum") or schema.get("items", {}).get("enum")
    if allowed:
        notes.append("Allowed values: " + ", ".join(f"`{value}`" for value in allowed) + ".")
    return notes


class SettingsMarkdown(MarkdownFormatter, format_name="tap-pay-markdown"):
    """The SDK's Markdown, with secrecy and allowed values in each setting's description."""

    def _generate_property_row(
        self,
        name: str,
        schema: dict[str, Any],
        *,
        required: bool,
        parent_name: str | None = None,
    ) -> Iterator[str]:
        notes = setting_notes(schema)
        if notes:
            description = " ".join([schema.get("description", "").strip(), *notes]).strip()
            schema = {**schema, "description": description}
        yield from super()._generate_property_row(
            name, schema, required=required, parent_name=parent_name
        )
