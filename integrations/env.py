"""Settings models filled from environment variables, with errors that name the variables.

Functions and integrations alike read their settings through ``load_env_model``
once, in one place each (``infra.aws.settings``, ``Integration.load_config``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from integrations.errors import ConfigurationError

ModelT = TypeVar("ModelT", bound=BaseModel)

#: Set (to anything but "", "0" or "false") by the local runtime in every function's environment:
#: destinations may then be plain-http loopback servers, never on a deployed function.
LOCAL_RUNTIME_VARIABLE = "EVENT_IMPORTER_LOCAL_RUNTIME"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_runtime(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs in the local runtime (``EVENT_IMPORTER_LOCAL_RUNTIME``)."""
    env = os.environ if environ is None else environ
    return env.get(LOCAL_RUNTIME_VARIABLE, "").strip().lower() not in {"", "0", "false"}


def _problems(exc: ValidationError, prefix: str) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        # A model-level check has no field: its message already names the variables.
        parts.append(f"{prefix}{str(error['loc'][0]).upper()}: {message}" if error["loc"] else message)
    return "; ".join(parts)


def load_env_model(
    model: type[ModelT],
    environ: Mapping[str, str] | None = None,
    *,
    prefix: str = "",
    context: Mapping[str, Any] | None = None,
) -> ModelT:
    """Fill ``model`` from environment variables named ``prefix + FIELD_NAME``.

    ``context`` is pydantic's validation context (e.g. ``{"local_runtime": True}``).

    Raises ``ConfigurationError`` naming every missing or invalid variable
    (never its value: some of them are secrets).
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name in model.model_fields:
        key = f"{prefix}{name.upper()}"
        if key in env and env[key] != "":
            values[name] = env[key]
    try:
        return model.model_validate(values, context=dict(context or {}))
    except ValidationError as exc:
        raise ConfigurationError(f"invalid settings: {_problems(exc, prefix)}") from exc
