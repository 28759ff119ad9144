"""Reading an event's serialised fields in a transformer: a bad value is a ``TransformError`` naming the field."""

from __future__ import annotations

import datetime as dt

from integrations.errors import TransformError

__all__ = ["date_field", "text_field", "time_field"]


def date_field(value: object, name: str) -> dt.date:
    """A ``YYYY-MM-DD`` date."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise TransformError(f"{name} {value!r} is not a YYYY-MM-DD date") from None


def time_field(value: object, name: str) -> dt.time | None:
    """An ``HH:MM`` time, or ``None`` when absent."""
    if not value:
        return None
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise TransformError(f"{name} {value!r} is not an HH:MM time") from None


def text_field(value: object) -> str:
    """A string without surrounding whitespace; anything else is the empty string."""
    return value.strip() if isinstance(value, str) else ""
