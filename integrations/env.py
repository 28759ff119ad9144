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


def _problems(exc: ValidationError, prefix: str) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        # A model-level check has no field: its message already names the variables.
        parts.append(f"{prefix}{str(error['loc'][0]).upper()}: {message}" if error["loc"] else message)
    return "; ".join(parts)


def load_env_model(model: type[ModelT], environ: Mapping[str, str] | None = None, *, prefix: str = "") -> ModelT:
    """Fill ``model`` from environment variables named ``prefix + FIELD_NAME``.

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
        return model.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid settings: {_problems(exc, prefix)}") from exc
