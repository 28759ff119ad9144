"""A respx side effect that answers slowly and remembers how many requests were in flight at once."""

from __future__ import annotations

import asyncio

import httpx


class SlowDestination:
    """Answers 201 after ``delay`` seconds; ``peak`` is the most concurrent requests seen."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return httpx.Response(201, json={"id": "x"})
