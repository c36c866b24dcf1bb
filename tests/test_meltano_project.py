"""The Meltano project's files agree with the plugins and with the documentation: every setting
is declared with its kind and secrecy, documented, and no environment file holds a secret."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tap_pay.tap import TapPay
from target_exactonline.target import TargetExactOnline

ROOT = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).parent / "meltano"
PLUGINS = {"tap-pay": TapPay, "target-exactonline": TargetExactOnline}
# Meltano kinds a JSON-schema type may be declared as.
KINDS = {
    "string": {"string", "date_iso8601", "options"},
    "integer": {"integer"},
    "boolean": {"boolean"},
    "array": {"array"},
    "object": {"object"},
}
VARIABLE = re.compile(r"^\$\{([A-Z][A-Z0-9_]*)\}$")


def project() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())


def declared(name: str) -> dict[str, dict[str, Any]]:
    plugins = project()["plugins"]
    for plugin in plugins["extractors"] + plugins["loaders"]:
        if plugin["name"] == name:
            return {s["name"]: s for s in plugin["settings"]}
    raise AssertionError(f"{name} is not in meltano.yml")


def own_settings(name: str) -> dict[str, dict[str, Any]]:
    """The plugin's own settings, without the SDK's built-in ones (which the SDK adds to the
    class's schema in place once a plugin has been instantiated or asked ``--about``)."""
    plugin = PLUGINS[name]
    builtin: dict[str, Any] = {"type": "object", "properties": {}}
    plugin.append_builtin_config(builtin)
    return {
        setting: schema
        for setting, schema in plugin.config_jsonschema["properties"].items()
        if setting not in builtin["properties"]
    }


def json_type(schema: dict[str, Any]) -> str:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    (kind,) = [t for t in types if t != "null"]
    return kind


def environments() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((ROOT / "environments").glob("*.meltano.yml")):
        for environment in yaml.safe_load(path.read_text())["environments"]:
            assert environment["name"] not in found, f"{environment['name']} defined twice"
            found[environment["name"]] = environment
    return found


def plugin_config(environment: dict[str, Any], name: str) -> dict[str, Any]:
    plugins = environment.get("config", {}).get("plugins", {})
    for plugin in plugins.get("extractors", []) + plugins.get("loaders", []):
        if plugin["name"] == name:
            return plugin.get("config", {})
    return {}


def documented(section: str) -> dict[str, list[str]]:
    """Rows ``| `name` | type | default | ...`` of a plugin's section of docs/configuration.md."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    start = text.index(f"\n## {section} ")
    end = text.find("\n## ", start + 1)
    rows = {}
    for line in text[start : end if end != -1 else None].splitlines():
        found = re.match(r"^\| `([a-z_0-9]+)` \|(.*)\|$", line)
        if found:
            assert found.group(1) not in rows, f"{found.group(1)} documented twice"
            rows[found.group(1)] = [cell.strip() for cell in found.group(2).split("|")]
    return rows


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_every_setting_is_declared_with_its_kind_and_secrecy(plugin: str) -> None:
    own, listed = own_settings(plugin), declared(plugin)
    assert set(listed) == set(own), "meltano.yml and the plugin disagree on the settings"
    for name, schema in own.items():
        setting = listed[name]
        assert setting.get("kind") in KINDS[json_type(schema)], name
        assert bool(setting.get("sensitive")) == bool(schema.get("secret")), name
        assert setting.get("description"), name
        if "enum" in schema:
            assert setting["kind"] == "options", name
            values = {option["value"] for option in setting["options"]}
            assert values == {v for v in schema["enum"] if v is not None}, name


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_every_setting_is_documented_with_its_default(plugin: str) -> None:
    own, rows = own_settings(plugin), documented(plugin)
    assert set(rows) == set(own), "docs/configuration.md and the plugin disagree on the settings"
    for name, schema in own.items():
        type_cell, default_cell = rows[name][0], rows[name][1]
        if schema.get("secret"):
            assert type_cell == "secret", name
        default = schema.get("default")
        if isinstance(default, bool):
            assert f"`{str(default).lower()}`" in default_cell, name
        elif isinstance(default, int | str):
            assert f"`{default}`" in default_cell, name
        if "required" in default_cell:
            assert name in PLUGINS[plugin].config_jsonschema.get("required", []), name
    # the type column names the same choices the plugin allows
    for name, schema in own.items():
        for value in schema.get("enum") or []:
            assert f"`{value}`" in rows[name][0], (name, value)


def test_no_environment_file_holds_a_secret() -> None:
    for env_name, environment in environments().items():
        for plugin in PLUGINS:
            settings = declared(plugin)
            for name, value in plugin_config(environment, plugin).items():
                assert name in settings, f"{env_name}: {plugin} has no setting {name!r}"
                text = str(value)
                variable = VARIABLE.match(text)
                if variable is not None:
                    # Per-customer variables; a plugin-wide one would override every customer.
                    assert not variable.group(1).startswith(("TAP_PAY_", "TARGET_EXACTONLINE_"))
                if not settings[name].get("sensitive"):
                    continue
                # A secret is a variable reference, or a SQLite path (which has no password).
                assert variable is not None or text.startswith("sqlite:///"), (env_name, name)
                if variable is not None and env_name != "demo":
                    assert variable.group(1).startswith(f"{env_name.upper()}_"), (env_name, name)


def test_each_customer_has_its_own_ledger_report_folder_and_administration() -> None:
    customers = {n: e for n, e in environments().items() if n != "demo"}
    assert len(customers) >= 2
    stores, reports = set(), set()
    for name, environment in customers.items():
        target = plugin_config(environment, "target-exactonline")
        assert "division" in target, name
        stores.add(target.get("store_url"))
        reports.add(target.get("report_dir"))
        if not VARIABLE.match(str(target.get("store_url"))):
            assert f"/{name}/" in str(target["store_url"]), name
        assert name in str(target.get("report_dir")), name
    assert len(stores) == len(customers)
    assert len(reports) == len(customers)


def test_the_nightly_job_runs_tap_pay_into_target_exactonline() -> None:
    meltano_yml = project()
    jobs = {job["name"]: job["tasks"] for job in meltano_yml["jobs"]}
    assert jobs["pay-to-exact"] == ["tap-pay target-exactonline"]
    (schedule,) = meltano_yml["schedules"]
    assert schedule["job"] == "pay-to-exact"
    assert len(schedule["interval"].split()) == 5
    assert "./environments/*.meltano.yml" in meltano_yml["include_paths"]


def test_a_customer_gets_only_its_own_secrets(tmp_path: Path) -> None:
    """Meltano resolves acme's secrets from ACME_ variables only; bloom's never reach acme."""
    shutil.copy2(ROOT / "meltano.yml", tmp_path / "meltano.yml")
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_PAY_", "TARGET_EXACTONLINE_", "MELTANO_"))
    }

    def resolved(env_name: str, plugin: str, **variables: str) -> dict[str, Any]:
        result = subprocess.run(
            [str(MELTANO), f"--environment={env_name}", "config", "--unsafe", "print", plugin],
            cwd=tmp_path,
            env={**base, **variables},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout)

    only_bloom = resolved("acme", "tap-pay", BLOOM_PAY_API_TOKEN="b" * 40)
    assert "api_token" not in only_bloom
    both = resolved("acme", "tap-pay", ACME_PAY_API_TOKEN="a" * 40, BLOOM_PAY_API_TOKEN="b" * 40)
    assert both["api_token"] == "a" * 40
    target = resolved("bloom", "target-exactonline", BLOOM_EXACT_CLIENT_SECRET="s3cret")
    assert target["client_secret"] == "s3cret"
    assert target["revenue_group_overrides"][0]["revenue_group"] in target["revenue_groups"]


def test_the_readme_opens_with_the_two_commands_and_links_the_guides() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["bin/dev demo", "bin/dev test"]
    assert readme.index("```sh") < readme.index("\n## ")
    for guide in ("quickstart", "configuration", "onboarding", "operations"):
        assert f"docs/{guide}.md" in readme, guide
        assert (ROOT / "docs" / f"{guide}.md").is_file(), guide


def slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_between_the_guides_resolve() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"^[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.is_file(), f"{page.name}: {target}"
            if anchor:
                headings = re.findall(r"(?m)^#+ (.+)$", linked.read_text())
                assert anchor in {slug(h) for h in headings}, f"{page.name}: {target}"
