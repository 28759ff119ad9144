"""HTTP helpers every client shares: an httpx client per event loop, and reading ``Retry-After``."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import math
from typing import Any

import httpx

__all__ = ["LoopBoundHttp", "parse_retry_after"]


class LoopBoundHttp:
    """The ``httpx.AsyncClient`` to use on the running event loop: the one passed in, or one made here.

    Pooled connections belong to the loop that opened them. On Lambda one loop serves every
    invocation; elsewhere (the local runtime, tests) each may run on a new one, so a client made
    here is replaced when the loop changes. A client passed in is the caller's: used as is, never closed.
    """

    def __init__(self, client: httpx.AsyncClient | None = None, **options: Any) -> None:
        self._client = client
        self._owned = client is None
        self._options = options
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> httpx.AsyncClient:
        """The client for the running loop (made at first use)."""
        loop = asyncio.get_running_loop()
        if self._owned and self._client is not None and self._loop is not loop:
            self._client = None  # its loop is gone with its connections: nothing left to close
        if self._client is None:
            self._client = httpx.AsyncClient(**self._options)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the client if it was made here."""
        if self._owned and self._client is not None:
            await self._client.aclose()
            self._client = None


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date).

    ``None`` when the header is absent or unreadable; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
