"""Selectors the calendar offers: the standard set (unsubmitted, failed, pending, all, by-url)."""

from __future__ import annotations

from integrations.base import BaseSelector
from integrations.selectors import STANDARD_SELECTORS

SELECTORS: dict[str, type[BaseSelector]] = dict(STANDARD_SELECTORS)
