"""EventData dict -> the ``data`` of a webhook message.

The receiver gets the ``EventData`` as the importer cleaned it (the README
documents the body); the ids travel next to it (``WebhookSubmitter``), and the
envelope (``type``, ``timestamp``) is the client's.
"""

from __future__ import annotations

import copy
from typing import Any

from integrations.base import BaseTransformer
from integrations.errors import TransformError


class WebhookTransformer(BaseTransformer):
    """Sends the event as it is: the receiver decides what to show."""

    def transform(self, event_data: dict[str, Any]) -> dict[str, Any]:
        """``{"event": EventData}``; ``TransformError`` for an event without a title."""
        if not str(event_data.get("title") or "").strip():
            raise TransformError("the event has no title")
        return {"event": copy.deepcopy(event_data)}
