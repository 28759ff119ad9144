"""EventData dict -> TicketFairy draft-events payload.

The payload is ``{"data": {"attributes": {...}}}`` with the attributes
``title, url, image, hostedBy, startDate, endDate, timezone, isOnline,
status, address, venue, details``: the contract of the original
event-importer's client, the only evidence of what the API accepts.  The
README lists every field and which choices are the original's and which are
ours.  In short:

* ``hostedBy`` is ``true``, ``isOnline`` the integer ``0`` (``1`` when the
  venue or address says "online" / "livestream"), ``status`` the configured
  ``TICKETFAIRY_STATUS`` (default ``"Public"``), as the original sent them.
* Dates are local wall time (``YYYY-MM-DD HH:MM:SS``) in the event's stored
  ``time.timezone``; nothing is converted, and nothing here looks a zone up:
  the zone is resolved once, at import.  An event cached before that (no
  zone) is sent as ``UTC``, as the original did; ``event-importer events
  enrich`` resolves and stores the zones of such events.
* No start time is a whole-day event: ``00:00:00`` to ``23:59:59`` of its
  (end) date; no end time ends at ``23:59:59`` of the (end) date, as the
  original sent them.  An end at or before the start moves to the next day
  (the original sent it as is), and an event with no date cannot be a draft
  event: ``TransformError`` (the original sent empty dates).
* ``url`` is the ticket URL, else the source URL.  Anything that is not an
  absolute http(s) URL counts as missing, which covers the placeholders
  sources write ("N/A", "none", "null", "TBD", "-", blanks) and keeps
  ``javascript:`` links out of the payload.
* ``details`` is HTML assembled here from ``html.escape``d text only (the
  original trusted event text as markup): both descriptions when they
  differ, then cost, lineup, promoters, genres (the original's), minimum age
  and the ticket link (ours).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from integrations.base import BaseTransformer
from integrations.errors import TransformError
from integrations.fields import date_field, text_field, time_field

__all__ = [
    "DATETIME_FORMAT",
    "DAY_END",
    "DAY_START",
    "DEFAULT_STATUS",
    "FALLBACK_TIMEZONE",
    "TicketFairyTransformer",
    "details_html",
    "event_times",
]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DAY_START = dt.time(0, 0, 0)
DAY_END = dt.time(23, 59, 59)
DEFAULT_STATUS = "Public"
FALLBACK_TIMEZONE = "UTC"

_ONLINE = re.compile(r"\b(?:online|live[\s-]?stream(?:ing)?)\b", re.IGNORECASE)


class TicketFairyTransformer(BaseTransformer):
    """Builds TicketFairy draft events; see the module docstring for the rules on missing data."""

    def __init__(self, status: str = DEFAULT_STATUS) -> None:
        self.status = status

    def transform(self, event_data: dict[str, Any]) -> dict[str, Any]:
        """Return the draft-event payload for one ``EventData`` dict.

        Raises ``TransformError`` when the event has no title or no usable date.
        """
        title = text_field(event_data.get("title"))
        if not title:
            raise TransformError("event has no title: TicketFairy needs one")
        start, end = event_times(event_data)
        venue = text_field(event_data.get("venue"))
        location = _mapping(event_data.get("location"))
        ticket_url = _http_url(event_data.get("ticket_url"))
        images = _mapping(event_data.get("images"))
        online = _ONLINE.search(venue) or _ONLINE.search(text_field(location.get("address")))
        attributes: dict[str, Any] = {
            "title": title,
            "url": ticket_url or _http_url(event_data.get("source_url")),
            "image": _http_url(images.get("full")) or _http_url(images.get("thumbnail")),
            "hostedBy": True,
            "startDate": start.strftime(DATETIME_FORMAT),
            "endDate": end.strftime(DATETIME_FORMAT),
            "timezone": text_field(_mapping(event_data.get("time")).get("timezone")) or FALLBACK_TIMEZONE,
            "isOnline": 1 if online else 0,
            "status": self.status,
            "address": _address(location),
            "venue": venue,
            "details": details_html(event_data, ticket_url=ticket_url),
        }
        return {"data": {"attributes": attributes}}


# -- dates -----------------------------------------------------------------------


def event_times(event_data: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """Naive local start and end of the event, applying the defaults in the module docstring.

    Raises ``TransformError`` when there is no date or a date or time is unreadable.
    """
    raw_date = event_data.get("date")
    if not raw_date:
        raise TransformError("event has no date: TicketFairy needs a start date")
    times = _mapping(event_data.get("time"))
    first_day = date_field(raw_date, "date")
    last_day = date_field(event_data.get("end_date"), "end_date") if event_data.get("end_date") else first_day
    start = dt.datetime.combine(first_day, time_field(times.get("start"), "time.start") or DAY_START)
    end = dt.datetime.combine(max(last_day, first_day), time_field(times.get("end"), "time.end") or DAY_END)
    if end <= start:
        end += dt.timedelta(days=1)  # e.g. 23:00-04:00: the night runs past midnight
    return start, end


# -- text, links and HTML ----------------------------------------------------------


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text for item in value if (text := text_field(item))]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _http_url(value: object) -> str | None:
    text = text_field(value)
    parts = urlsplit(text)
    return text if parts.scheme.lower() in {"http", "https"} and parts.netloc else None


def _address(location: Mapping[str, Any]) -> str:
    """Address, city, state and country joined by commas, skipping blanks and repeats."""
    parts: list[str] = []
    seen: set[str] = set()
    for key in ("address", "city", "state", "country"):
        text = text_field(location.get(key))
        # "Berlin" is a repeat of "Berlin" as a city and of "..., Berlin" in the street address.
        segments = {segment.strip().casefold() for segment in text.split(",")}
        if not text or segments <= seen:
            continue
        parts.append(text)
        seen |= segments
    return ", ".join(parts)


def details_html(event_data: Mapping[str, Any], *, ticket_url: str | None = None) -> str:
    """The details as HTML: the short and the long description (both, when they differ), then
    cost, lineup, promoters, genres, minimum age and the ticket link.

    Every piece of event text goes through ``html.escape``; the only markup is
    the fixed tags written here, and the only link is an http(s) ``ticket_url``.
    """
    short = text_field(event_data.get("short_description"))
    long = text_field(event_data.get("long_description"))
    descriptions = [short] if short else []
    if long and long != short:
        descriptions.append(long)
    blocks = [
        "<p>" + "<br>".join(html.escape(line.strip()) for line in paragraph.splitlines() if line.strip()) + "</p>"
        for description in descriptions
        for paragraph in re.split(r"\n\s*\n", description)
        if paragraph.strip()
    ]
    age = event_data.get("minimum_age")
    facts = (
        ("Cost", text_field(event_data.get("cost"))),
        ("Lineup", ", ".join(_texts(event_data.get("lineup")))),
        ("Promoters", ", ".join(_texts(event_data.get("promoters")))),
        ("Genres", ", ".join(_texts(event_data.get("genres")))),
        ("Minimum age", ("All ages" if age == 0 else f"{age}+") if isinstance(age, int) else ""),
    )
    blocks.extend(f"<p><strong>{label}:</strong> {html.escape(value)}</p>" for label, value in facts if value)
    if ticket_url:
        link = html.escape(ticket_url)
        blocks.append(f'<p><strong>Tickets:</strong> <a href="{link}">{link}</a></p>')
    return "\n".join(blocks)
