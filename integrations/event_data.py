"""EventData: the standard event shape every transformer receives.

Input from scrapers and importers is messy: markup in text, duplicated list
entries, dates and times in many formats.  The model normalises all of it on
the way in so that transformers, the content hash and the cache only ever see
clean, canonical values.

``parse_event`` is the import path: it also resolves the event's time zone,
once, and stores it in ``time.timezone``.  The submit path only re-validates
what is cached (``validate_event``) and never loads time-zone data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import dateutil.parser
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from integrations.errors import InvalidEventError

__all__ = [
    "Coordinates",
    "EventData",
    "EventImages",
    "EventLocation",
    "EventTime",
    "InvalidEventError",
    "ParsedEvent",
    "clean_text",
    "content_hash",
    "event_id_for",
    "parse_event",
    "parse_event_with_notes",
    "validate_event",
]

# Fields that describe when/how an event was imported rather than the event
# itself: a re-import that only changes these must not count as a change.
VOLATILE_FIELDS = frozenset({"imported_at"})


class _TextExtractor(HTMLParser):
    """Collects the text content of an HTML fragment, dropping tags, scripts and styles."""

    _SKIPPED = frozenset({"script", "style"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skip_depth += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Terminal escape sequences (ESC [ ... final byte) go whole, then any other C0/C1 control
# character except white space, and the bidi controls that can make text read
# differently from how it is stored (U+202E spoofing): none of them belongs in event text.
_ANSI_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str) -> str:
    """Strip markup and entities from ``value`` and normalise its white space.

    Paragraph breaks survive as single blank lines; everything else collapses
    to single spaces; control characters, terminal escapes and bidi overrides
    are dropped.  ``"<p>Live &amp; loud</p><script>x()</script>"`` becomes
    ``"Live & loud"``.  Raises ``ValueError`` for text that cannot be UTF-8
    (lone surrogates, as a bad decode with ``surrogateescape`` leaves them).
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"is not valid UTF-8 text (character {exc.start + 1} is {value[exc.start]!r})") from exc
    if "<" in value or "&" in value:
        extractor = _TextExtractor()
        extractor.feed(value)
        extractor.close()
        value = html.unescape("".join(extractor.parts))
    # After unescaping: "&#27;" and "&#x202E;" are the same characters in disguise.
    value = _UNSAFE_CHARACTERS.sub("", _ANSI_ESCAPES.sub("", value))
    lines = (_SPACES.sub(" ", line).strip() for line in value.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _clean_optional_text(value: object) -> object:
    if isinstance(value, str):
        return clean_text(value) or None
    return value


def _clean_list(value: object) -> object:
    """Clean each entry and drop blanks and case-insensitive duplicates, keeping order."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        return value
    seen: set[str] = set()
    cleaned: list[object] = []
    for item in value:
        if not isinstance(item, str):
            cleaned.append(item)  # let pydantic report the wrong type
            continue
        text = clean_text(item)
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            cleaned.append(text)
    return cleaned


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%A, %B %d, %Y",
    "%a, %b %d, %Y",
    "%Y%m%d",
)


def _parse_date(value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"expected a date string such as 2025-06-30, got {type(value).__name__}")
    text = value.strip()
    # An ISO timestamp ("2025-06-30T20:00:00Z") carries its date in the first 10 characters.
    candidate = text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}T", text) else text
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(candidate, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"could not read {text!r} as a date; use YYYY-MM-DD")


# What dateutil cannot read on its own, rewritten before it reads the rest.
_TIME_WORDS = (
    (re.compile(r"\bmid-?night\b", re.IGNORECASE), "00:00"),
    (re.compile(r"\b(?:noon|midday)\b", re.IGNORECASE), "12:00"),
    # "19h30", "20.00": dateutil reads "20.00" as a day of the month.
    (re.compile(r"(?<![\d.:])(\d{1,2})[.h](\d{2})(?![\d.:])", re.IGNORECASE), r"\1:\2"),
    # "24:00" is how some venues write midnight.
    (re.compile(r"(?<![\d.:])24:00(?![\d.:])"), "00:00"),
)
# "7pm - late", "10pm till close": no end time, whatever dateutil would make of the dash.
_OPEN_END = re.compile(r"\s*(?:-|–|—|\bto\b|\btill\b|\buntil\b)\s*(?:late|close|closing|finish|end)\b.*$", re.I)
_BARE_HOUR = re.compile(r"^\s*(\d{1,2})\s*$")
# "10pm-4am", "22:00 – 04:00", "10pm to 4am": a start and an end in one field.
_TIME_RANGE = re.compile(
    r"^(?P<start>.*?(?<!\d)\d{1,2}(?:[:.h]\d{2})?\s*(?:[ap]\.?m\.?)?)"
    r"\s*(?:-|–|—|\bto\b|\btill\b|\buntil\b)\s*(?P<end>.*\d.*)$",
    re.IGNORECASE,
)


def _parse_time(value: object) -> object:
    """``HH:MM`` from what sources write: "Doors at 7pm", "7.30pm", "19h30", "10 PM", "midnight"...

    dateutil's fuzzy parser skips the words around the time.  It fills in
    what the text does not say from a default, so the text is read twice with
    different default hours: a text that names no hour ("Saturday", "TBA")
    reads differently and is refused rather than turned into midnight.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if not isinstance(value, str):
        raise ValueError(f"expected a time string such as 20:00 or 8pm, got {type(value).__name__}")
    text = _OPEN_END.sub("", value.strip())
    if match := _BARE_HOUR.match(text):
        text = f"{match[1]}:00"  # "20": dateutil would read a day of the month
    for pattern, replacement in _TIME_WORDS:
        text = pattern.sub(replacement, text)
    try:
        # ignoretz: a zone abbreviation ("7pm EST") is not ours to interpret; the event's zone is.
        readings = {
            dateutil.parser.parse(text, fuzzy=True, ignoretz=True, default=dt.datetime(2000, 1, 1, hour)).time()
            for hour in (0, 13)
        }
    except (ValueError, OverflowError):
        readings = set()
    if len(readings) != 1:
        raise ValueError(f"could not read {value!r} as a time; use HH:MM")
    return readings.pop().strftime("%H:%M")


def _split_time_range(value: object) -> object:
    """A range in ``start`` ("10pm-4am"): its first time is the start, its second the end unless one is given."""
    if not isinstance(value, Mapping):
        return value
    start, end = value.get("start"), value.get("end")
    match = _TIME_RANGE.match(start.strip()) if isinstance(start, str) else None
    if match is None:
        return value
    try:
        first, second = _parse_time(match["start"]), _parse_time(match["end"])
    except ValueError:
        return value  # not a range of times after all ("2025-06-30T20:00"): read, or refused, as one text
    return {**value, "start": first, "end": end or second}


def _cost_text(value: object) -> object:
    """Costs as text; a number is shown as the source gave it ("20", "12.5")."""
    if isinstance(value, bool):
        raise ValueError("expected a price such as 20 or '€15', got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a price")
        if value < 0:
            raise ValueError(f"{value} is negative: a price cannot be")
        return str(value)
    return _clean_optional_text(value)


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


OptionalText = Annotated[str | None, BeforeValidator(_clean_optional_text)]
TextList = Annotated[list[str], BeforeValidator(_clean_list)]
IsoDate = Annotated[str | None, BeforeValidator(_parse_date)]
ClockTime = Annotated[str | None, BeforeValidator(_parse_time)]
OptionalUrl = Annotated[str | None, BeforeValidator(_clean_optional_text), AfterValidator(_check_url)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class EventTime(_Part):
    """Local start/end times (``HH:MM``) and the event's IANA time zone.

    A range in ``start`` ("10pm-4am") is split; its end fills ``end`` when the source gave none.
    ``parse_event`` sets ``timezone`` on import (see ``integrations.timezones``).
    """

    start: ClockTime = None
    end: ClockTime = None
    timezone: OptionalText = None

    @model_validator(mode="before")
    @classmethod
    def _range_in_start(cls, value: object) -> object:
        return _split_time_range(value)


class Coordinates(_Part):
    """WGS84 latitude and longitude in degrees."""

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class EventLocation(_Part):
    """Where the event takes place."""

    address: OptionalText = None
    city: OptionalText = None
    state: OptionalText = None
    country: OptionalText = None
    coordinates: Coordinates | None = None


class EventImages(_Part):
    """Image URLs: a full-size one and a thumbnail."""

    full: OptionalUrl = None
    thumbnail: OptionalUrl = None


class EventData(_Part):
    """The standard, cleaned shape of one imported event.

    Raises ``pydantic.ValidationError`` on construction; use ``validate_event``
    (or ``parse_event`` on import) for an ``InvalidEventError`` whose message
    names each bad field.
    """

    title: str = Field(max_length=500)
    venue: OptionalText = None
    date: IsoDate = None
    end_date: IsoDate = None
    time: EventTime | None = None
    promoters: TextList = Field(default_factory=list)
    lineup: TextList = Field(default_factory=list)
    long_description: OptionalText = None
    short_description: OptionalText = None
    genres: TextList = Field(default_factory=list)
    location: EventLocation | None = None
    images: EventImages | None = None
    minimum_age: int | None = Field(default=None, ge=0, le=99)
    cost: Annotated[str | None, BeforeValidator(_cost_text)] = None
    ticket_url: OptionalText = None
    source_url: OptionalUrl = None
    imported_at: dt.datetime | None = None

    @field_validator("title", mode="before")
    @classmethod
    def _title_has_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = clean_text(value)
            if not text:
                raise ValueError("must not be empty (markup alone does not count)")
            return text
        return value

    @field_validator("minimum_age", mode="before")
    @classmethod
    def _age_from_text(cls, value: object) -> object:
        # Sources write "18+", "21 and over", "All ages".
        if isinstance(value, str):
            text = value.strip().lower()
            if text in {"", "all ages", "all-ages", "none"}:
                return None
            match = re.match(r"^(\d{1,2})", text)
            if not match:
                raise ValueError(f"could not read {value!r} as an age")
            return int(match.group(1))
        return value

    @model_validator(mode="after")
    def _derive_end_date(self) -> EventData:
        if self.date and self.end_date and self.end_date < self.date:
            raise ValueError(f"end_date {self.end_date} is before date {self.date}")
        times = self.time
        if self.date and not self.end_date and times and times.start and times.end:
            # As the original importer did: an end at or before the start runs past
            # midnight into the next day; any other end is on the same day.
            overnight = times.end <= times.start
            self.end_date = (dt.date.fromisoformat(self.date) + dt.timedelta(days=int(overnight))).isoformat()
        return self

    def canonical_json(self) -> str:
        """The content as canonical JSON: sorted keys, no volatile import fields."""
        content = self.model_dump(mode="json", exclude=set(VOLATILE_FIELDS))
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def content_hash(self) -> str:
        """SHA-256 of ``canonical_json()``: equal for equal content, whenever imported."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def content_hash(event: EventData | Mapping[str, Any]) -> str:
    """Content hash of an ``EventData`` or of its ``model_dump`` dict."""
    model = event if isinstance(event, EventData) else EventData.model_validate(event)
    return model.content_hash()


def _format_error(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "event"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return f"{location}: {message}"


def validate_event(data: Mapping[str, Any]) -> EventData:
    """Validate event data as it is, raising ``InvalidEventError`` that names every bad field.

    Nothing is looked up: this is what the submit path uses on cached events.
    """
    try:
        return EventData.model_validate(data)
    except ValidationError as exc:
        problems = [_format_error(error) for error in exc.errors(include_url=False)]
        raise InvalidEventError(problems) from exc


@dataclass(frozen=True)
class ParsedEvent:
    """An imported event, enriched, with notes on what the import changed and why."""

    event: EventData
    notes: tuple[str, ...] = ()


def parse_event_with_notes(data: Mapping[str, Any]) -> ParsedEvent:
    """``parse_event``, also returning notes for the import's report (e.g. a source zone that was not a zone)."""
    event = validate_event(data)
    # Imported here, not at the top: the gazetteer belongs to the import path,
    # and the submit functions (which import this module) must never load it.
    from integrations.timezones import resolve_timezone

    resolution = resolve_timezone(event)
    times = event.time or EventTime()
    event = event.model_copy(update={"time": times.model_copy(update={"timezone": resolution.zone})})
    return ParsedEvent(event, tuple(note for note in (resolution.note,) if note))


def parse_event(data: Mapping[str, Any]) -> EventData:
    """Validate raw event data on import and set ``time.timezone`` (see ``integrations.timezones``).

    Raises ``InvalidEventError`` that names every bad field.
    """
    return parse_event_with_notes(data).event


def event_id_for(source_url: str) -> str:
    """A stable event id derived from the source URL.

    Scheme and host are case-folded, the fragment and a trailing slash are
    dropped, so trivially different spellings of one page map to one event.
    """
    parts = urlsplit(source_url.strip())
    path = parts.path.rstrip("/") or "/"
    normal = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))
    return hashlib.sha256(normal.encode()).hexdigest()[:32]
