"""The registry: the only place that knows which integrations exist.

Integrations are discovered through the entry-point group
``event_importer.integrations``, so a separately installed package can add
one.  Inside a Lambda zip no package metadata is installed; there the
registry falls back to scanning this package for sub-packages with a
``base.py``.  Loading one integration imports only that integration's
``base.py``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from integrations.base import Integration
from integrations.errors import UnknownIntegrationError

ENTRY_POINT_GROUP = "event_importer.integrations"

Loader = Callable[[], type[Integration]]


def _entry_point_loaders() -> dict[str, Loader]:
    return {ep.name: ep.load for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load_from_package(module_name: str) -> type[Integration]:
    module = importlib.import_module(module_name)
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Integration)
        and obj.__module__ == module.__name__
        and not inspect.isabstract(obj)
    ]
    if len(classes) != 1:
        raise UnknownIntegrationError(
            f"{module_name} must define exactly one Integration subclass, found {len(classes)}"
        )
    return classes[0]


def _package_loaders(package_dir: Path | None = None, package: str = "integrations") -> dict[str, Loader]:
    directory = package_dir or Path(__file__).parent
    loaders: dict[str, Loader] = {}
    for info in pkgutil.iter_modules([str(directory)]):
        if info.ispkg and (directory / info.name / "base.py").is_file():
            loaders[info.name] = functools.partial(_load_from_package, f"{package}.{info.name}.base")
    return loaders


@functools.cache
def _loaders() -> dict[str, Loader]:
    return _entry_point_loaders() or _package_loaders()


def integration_names() -> list[str]:
    """Names of every registered integration, sorted; imports none of them."""
    return sorted(_loaders())


@functools.cache
def get_integration(name: str) -> Integration:
    """The integration registered as ``name``.

    Raises ``UnknownIntegrationError`` (listing the known names) if there is none.
    """
    try:
        loader = _loaders()[name]
    except KeyError:
        known = ", ".join(integration_names()) or "none"
        raise UnknownIntegrationError(f"no integration named {name!r}; registered: {known}") from None
    integration_class = loader()
    integration = integration_class()
    if integration.name != name:
        raise UnknownIntegrationError(f"integration registered as {name!r} calls itself {integration.name!r}")
    return integration


def all_integrations() -> list[Integration]:
    """Every registered integration, loaded."""
    return [get_integration(name) for name in integration_names()]


def clear_cache() -> None:
    """Forget discovered integrations (for tests that change what is installed)."""
    _loaders.cache_clear()
    get_integration.cache_clear()
