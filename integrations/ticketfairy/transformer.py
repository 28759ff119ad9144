"""EventData dict -> TicketFairy draft-events payload.

The payload is ``{"data": {"attributes": {...}}}`` with the attributes
``title, url, image, hostedBy, startDate, endDate, timezone, isOnline,
status, address, venue, details``.  Choices made where the source data is
incomplete:

* Dates are local wall time (``YYYY-MM-DD HH:MM:SS``) in the event's
  ``timezone``; nothing is converted.  An event with no start time starts at
  20:00 (``DEFAULT_START_TIME``: most imported events are evening shows); an
  event with no end time ends ``DEFAULT_DURATION`` (3 h) after its start time
  on its last day.  An end before the start is an overnight event and moves
  to the next day; an end that still is not after the start becomes start +
  3 h.  An event with no date cannot be a draft event: ``TransformError``.
* ``url`` is the ticket URL, else the source URL.  Anything that is not an
  absolute http(s) URL counts as missing, which covers the placeholders
  sources write ("N/A", "none", "null", "TBD", "-", blanks) and keeps
  ``javascript:`` links out of the payload.
* ``details`` is HTML assembled here from ``html.escape``d text only: no
  event text is ever trusted as markup.
* The time zone is resolved by ``TimezoneResolver`` (see its docstring).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import importlib.resources
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from integrations.base import BaseTransformer
from integrations.errors import TransformError

__all__ = [
    "DATETIME_FORMAT",
    "DEFAULT_DURATION",
    "DEFAULT_START_TIME",
    "CountryZones",
    "TicketFairyTransformer",
    "TimezoneResolver",
    "details_html",
    "event_times",
]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_START_TIME = dt.time(20, 0)
DEFAULT_DURATION = dt.timedelta(hours=3)
FALLBACK_TIMEZONE = "UTC"

_ONLINE = re.compile(r"\b(?:online|live[\s-]?stream(?:ing)?)\b", re.IGNORECASE)


class TicketFairyTransformer(BaseTransformer):
    """Builds TicketFairy draft events; see the module docstring for the rules on missing data."""

    def __init__(self, timezones: TimezoneResolver | None = None) -> None:
        self.timezones = timezones or TimezoneResolver()

    def transform(self, event_data: dict[str, Any]) -> dict[str, Any]:
        """Return the draft-event payload for one ``EventData`` dict.

        Raises ``TransformError`` when the event has no title or no usable date.
        """
        title = _text(event_data.get("title"))
        if not title:
            raise TransformError("event has no title: TicketFairy needs one")
        start, end = event_times(event_data)
        venue = _text(event_data.get("venue"))
        location = _mapping(event_data.get("location"))
        ticket_url = _http_url(event_data.get("ticket_url"))
        images = _mapping(event_data.get("images"))
        promoters = _texts(event_data.get("promoters"))
        attributes: dict[str, Any] = {
            "title": title,
            "url": ticket_url or _http_url(event_data.get("source_url")),
            "image": _http_url(images.get("full")) or _http_url(images.get("thumbnail")),
            "hostedBy": promoters[0] if promoters else venue,
            "startDate": start.strftime(DATETIME_FORMAT),
            "endDate": end.strftime(DATETIME_FORMAT),
            "timezone": self.timezones.resolve(event_data),
            "isOnline": bool(_ONLINE.search(venue) or _ONLINE.search(_text(location.get("address")))),
            "status": "draft",
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
    first_day = _date(raw_date, "date")
    last_day = _date(event_data.get("end_date"), "end_date") if event_data.get("end_date") else first_day
    start_time = _time(times.get("start"), "time.start") or DEFAULT_START_TIME
    end_time = _time(times.get("end"), "time.end")

    start = dt.datetime.combine(first_day, start_time)
    if end_time is None:
        end = dt.datetime.combine(last_day, start_time) + DEFAULT_DURATION
    else:
        end = dt.datetime.combine(last_day, end_time)
        if end < start:
            end += dt.timedelta(days=1)  # e.g. 23:00-04:00: the night runs past midnight
    if end <= start:
        end = start + DEFAULT_DURATION
    return start, end


def _date(value: object, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise TransformError(f"{name} {value!r} is not a YYYY-MM-DD date") from None


def _time(value: object, name: str) -> dt.time | None:
    if not value:
        return None
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise TransformError(f"{name} {value!r} is not an HH:MM time") from None


# -- text, links and HTML ----------------------------------------------------------


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text for item in value if (text := _text(item))]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _http_url(value: object) -> str | None:
    text = _text(value)
    parts = urlsplit(text)
    return text if parts.scheme.lower() in {"http", "https"} and parts.netloc else None


def _address(location: Mapping[str, Any]) -> str:
    """Address, city, state and country joined by commas, skipping blanks and repeats."""
    parts: list[str] = []
    seen: set[str] = set()
    for key in ("address", "city", "state", "country"):
        text = _text(location.get(key))
        # "Berlin" is a repeat of "Berlin" as a city and of "..., Berlin" in the street address.
        segments = {segment.strip().casefold() for segment in text.split(",")}
        if not text or segments <= seen:
            continue
        parts.append(text)
        seen |= segments
    return ", ".join(parts)


def details_html(event_data: Mapping[str, Any], *, ticket_url: str | None = None) -> str:
    """The event description as HTML: paragraphs, then lineup, genres, price, minimum age and tickets.

    Every piece of event text goes through ``html.escape``; the only markup is
    the fixed tags written here, and the only link is an http(s) ``ticket_url``.
    """
    description = _text(event_data.get("long_description")) or _text(event_data.get("short_description"))
    blocks = [
        "<p>" + "<br>".join(html.escape(line.strip()) for line in paragraph.splitlines() if line.strip()) + "</p>"
        for paragraph in re.split(r"\n\s*\n", description)
        if paragraph.strip()
    ]
    age = event_data.get("minimum_age")
    facts = (
        ("Lineup", ", ".join(_texts(event_data.get("lineup")))),
        ("Genres", ", ".join(_texts(event_data.get("genres")))),
        ("Price", _text(event_data.get("cost"))),
        ("Minimum age", ("All ages" if age == 0 else f"{age}+") if isinstance(age, int) else ""),
    )
    blocks.extend(f"<p><strong>{label}:</strong> {html.escape(value)}</p>" for label, value in facts if value)
    if ticket_url:
        link = html.escape(ticket_url)
        blocks.append(f'<p><strong>Tickets:</strong> <a href="{link}">{link}</a></p>')
    return "\n".join(blocks)


# -- time zones ----------------------------------------------------------------------


class TimezoneResolver:
    """Finds an event's IANA time zone, trying in order:

    1. ``time.timezone`` when it names a zone of the tz database (any letter case);
    2. ``location.coordinates`` through ``tzfpy`` (loaded on first use);
    3. ``location.country`` when the whole country keeps one wall clock (see
       ``CountryZones``);
    4. ``location.city``: a city named by a tz zone ("Chicago",
       "Sao Paulo") or one of ``_CITY_ZONES``, a small hand-made list of
       major event cities that are not; a match whose country contradicts
       the event's country is ignored;
    5. ``"UTC"``.
    """

    def __init__(self, countries: CountryZones | None = None) -> None:
        self._countries = countries

    @property
    def countries(self) -> CountryZones:
        if self._countries is None:
            self._countries = default_country_zones()
        return self._countries

    def resolve(self, event_data: Mapping[str, Any]) -> str:
        explicit = _canonical_zone(_text(_mapping(event_data.get("time")).get("timezone")))
        if explicit:
            return explicit
        location = _mapping(event_data.get("location"))
        coordinates = _mapping(location.get("coordinates"))
        lat, lng = coordinates.get("lat"), coordinates.get("lng")
        if isinstance(lat, int | float) and isinstance(lng, int | float):
            found = _canonical_zone(_zone_at(float(lat), float(lng)))
            if found:
                return found
        code = self.countries.code_for(_text(location.get("country")))
        if code:
            zone = self.countries.single_zone(code)
            if zone:
                return zone
        return self._zone_for_city(_text(location.get("city")), code) or FALLBACK_TIMEZONE

    def _zone_for_city(self, city: str, country_code: str | None) -> str | None:
        key = _normalise(city)
        if not key:
            return None
        if key in _CITY_ZONES:
            city_country, listed = _CITY_ZONES[key]
            return listed if country_code in (None, city_country) else None
        named = _zone_named_cities().get(key)
        country_zones = self.countries.zones.get(country_code or "")
        if named and country_zones and named not in country_zones:
            return None  # e.g. "Paris" in Texas is not Europe/Paris
        return named


def _zone_at(lat: float, lng: float) -> str:
    # Imported on first use: tzfpy loads its polygon index at import.
    from tzfpy import get_tz

    return str(get_tz(lng, lat))


# Present in some tz installations but no place's zone.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})
_CITY_AREAS = frozenset({"Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"})


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone the tz database (system or ``tzdata`` package) knows, by case-folded name."""
    return {name.casefold(): name for name in zoneinfo.available_timezones() if name not in _NOT_PLACES}


def _canonical_zone(name: str) -> str | None:
    return _zone_names().get(name.strip().casefold()) if name else None


@functools.cache
def _zone_named_cities() -> dict[str, str]:
    """``"new york" -> "America/New_York"``: the last part of each zone name, read as a city."""
    cities: dict[str, str] = {}
    for name in sorted(_zone_names().values()):
        area, _, rest = name.partition("/")
        if area in _CITY_AREAS and rest:
            cities.setdefault(_normalise(rest.rpartition("/")[2]), name)
    return cities


def _normalise(name: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a place name: "St. Petersburg" -> "st petersburg"."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    # "U.S.A." -> "usa", "Buenos_Aires" -> "buenos aires".
    text = " ".join(re.sub(r"[_\-]+", " ", text.replace(".", "")).split())
    return text.removeprefix("the ")


@dataclass(frozen=True)
class CountryZones:
    """Which time zones each country (ISO 3166 alpha-2 code) uses, and the names it goes by.

    ``default_country_zones()`` builds it from the tz database's own
    ``zone.tab`` and ``iso3166.tab`` as shipped by the ``tzdata`` package;
    without that package it falls back to ``_COUNTRIES``, a hand-made table of
    common countries (checked against ``zone.tab`` by the tests).

    A country "has one zone" when all its zones keep the same wall clock all
    year: Germany's Europe/Busingen runs on Europe/Berlin's time, so Germany
    resolves to Europe/Berlin, the zone ``zone.tab`` lists first; Spain's
    Canary Islands do not, so Spain resolves to nothing.
    """

    zones: Mapping[str, tuple[str, ...]]
    names: Mapping[str, str]
    source: str
    _single: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_tz_tables(cls, zone_tab: str, iso3166_tab: str | None = None, *, source: str = "tz") -> CountryZones:
        """Parse ``zone.tab`` (``CODE<TAB>coordinates<TAB>Zone...``) and optionally ``iso3166.tab``."""
        zones: dict[str, list[str]] = {}
        for code, _, zone in _tab_rows(zone_tab, 3):
            zones.setdefault(code.upper(), []).append(zone)
        names = dict(_alias_names())
        for code, name in _tab_rows(iso3166_tab or "", 2):
            names.setdefault(_normalise(name), code.upper())
            # "Britain (UK)", "Korea (South)": also answer to the plain name.
            names.setdefault(_normalise(name.partition("(")[0]), code.upper())
        return cls({code: tuple(found) for code, found in zones.items()}, names, source)

    @classmethod
    def fallback(cls) -> CountryZones:
        """The hand-made table, for when the ``tzdata`` package is not installed."""
        zones = {code: (zone,) for code, zone, _ in _COUNTRIES if zone}
        return cls(zones, dict(_alias_names()), "fallback")

    def code_for(self, country: str) -> str | None:
        """The ISO code for a country name or code ("Germany", "UK", "USA", "de"), if known."""
        key = _normalise(country)
        if key in self.names:
            return self.names[key]
        if len(key) == 2 and key.isalpha():
            return key.upper()
        return None

    def single_zone(self, code: str) -> str | None:
        """The country's zone if it has one wall clock, else ``None``."""
        if code not in self._single:
            zones = self.zones.get(code, ())
            self._single[code] = zones[0] if zones and _same_wall_clock(zones) else None
        return self._single[code]


def default_country_zones() -> CountryZones:
    """``CountryZones`` from the ``tzdata`` package if installed, else from the built-in table."""
    return _default_country_zones()


@functools.cache
def _default_country_zones() -> CountryZones:
    zone_tab = _tzdata_file("zone.tab")
    if zone_tab is None:
        return CountryZones.fallback()
    return CountryZones.from_tz_tables(zone_tab, _tzdata_file("iso3166.tab"), source="tzdata")


def _tzdata_file(name: str) -> str | None:
    # The package, not /usr/share/zoneinfo: Lambda images do not promise a system tz database.
    try:
        return importlib.resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return None


def _tab_rows(text: str, width: int) -> Iterable[tuple[str, ...]]:
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            cells = line.split("\t")
            if len(cells) >= width:
                yield tuple(cell.strip() for cell in cells[:width])


@functools.cache
def _same_wall_clock(zones: tuple[str, ...]) -> bool:
    """Whether all ``zones`` show the same UTC offset throughout the current year."""
    if len(zones) == 1:
        return True
    try:
        infos = [zoneinfo.ZoneInfo(zone) for zone in zones]
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    year = dt.datetime.now(dt.UTC).year
    # Twice a month catches zones whose daylight-saving switches fall on other dates.
    for month in range(1, 13):
        for day in (1, 15):
            instant = dt.datetime(year, month, day, 12, tzinfo=dt.UTC)
            if len({instant.astimezone(info).utcoffset() for info in infos}) > 1:
                return False
    return True


@functools.cache
def _alias_names() -> dict[str, str]:
    return {_normalise(name): code for code, _, names in _COUNTRIES for name in names}


# Fallback when the ``tzdata`` package is absent, and the names countries go
# by in event data either way.  Zone ``None``: the country keeps more than one
# wall clock, so only coordinates or the city can tell.
_COUNTRIES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("AD", "Europe/Andorra", ("Andorra",)),
    ("AE", "Asia/Dubai", ("United Arab Emirates", "UAE")),
    ("AL", "Europe/Tirane", ("Albania",)),
    ("AM", "Asia/Yerevan", ("Armenia",)),
    ("AR", "America/Argentina/Buenos_Aires", ("Argentina",)),
    ("AT", "Europe/Vienna", ("Austria", "Österreich")),
    ("AU", None, ("Australia",)),
    ("BA", "Europe/Sarajevo", ("Bosnia and Herzegovina", "Bosnia")),
    ("BB", "America/Barbados", ("Barbados",)),
    ("BD", "Asia/Dhaka", ("Bangladesh",)),
    ("BE", "Europe/Brussels", ("Belgium", "België", "Belgique")),
    ("BG", "Europe/Sofia", ("Bulgaria",)),
    ("BO", "America/La_Paz", ("Bolivia",)),
    ("BR", None, ("Brazil", "Brasil")),
    ("BS", "America/Nassau", ("Bahamas",)),
    ("BY", "Europe/Minsk", ("Belarus",)),
    ("CA", None, ("Canada",)),
    ("CH", "Europe/Zurich", ("Switzerland", "Schweiz", "Suisse")),
    ("CL", None, ("Chile",)),
    ("CN", None, ("China", "People's Republic of China")),
    ("CO", "America/Bogota", ("Colombia",)),
    ("CR", "America/Costa_Rica", ("Costa Rica",)),
    ("CU", "America/Havana", ("Cuba",)),
    ("CY", "Asia/Nicosia", ("Cyprus",)),
    ("CZ", "Europe/Prague", ("Czechia", "Czech Republic")),
    ("DE", "Europe/Berlin", ("Germany", "Deutschland")),
    ("DK", "Europe/Copenhagen", ("Denmark", "Danmark")),
    ("DO", "America/Santo_Domingo", ("Dominican Republic",)),
    ("EC", None, ("Ecuador",)),
    ("EE", "Europe/Tallinn", ("Estonia",)),
    ("EG", "Africa/Cairo", ("Egypt",)),
    ("ES", None, ("Spain", "España")),
    ("FI", "Europe/Helsinki", ("Finland",)),
    ("FR", "Europe/Paris", ("France",)),
    (
        "GB",
        "Europe/London",
        ("United Kingdom", "UK", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland"),
    ),
    ("GE", "Asia/Tbilisi", ("Georgia",)),
    ("GH", "Africa/Accra", ("Ghana",)),
    ("GR", "Europe/Athens", ("Greece",)),
    ("GT", "America/Guatemala", ("Guatemala",)),
    ("HK", "Asia/Hong_Kong", ("Hong Kong",)),
    ("HR", "Europe/Zagreb", ("Croatia",)),
    ("HU", "Europe/Budapest", ("Hungary",)),
    ("ID", None, ("Indonesia",)),
    ("IE", "Europe/Dublin", ("Ireland",)),
    ("IL", "Asia/Jerusalem", ("Israel",)),
    ("IN", "Asia/Kolkata", ("India",)),
    ("IS", "Atlantic/Reykjavik", ("Iceland",)),
    ("IT", "Europe/Rome", ("Italy", "Italia")),
    ("JM", "America/Jamaica", ("Jamaica",)),
    ("JO", "Asia/Amman", ("Jordan",)),
    ("JP", "Asia/Tokyo", ("Japan",)),
    ("KE", "Africa/Nairobi", ("Kenya",)),
    ("KR", "Asia/Seoul", ("South Korea", "Korea", "Republic of Korea")),
    ("LB", "Asia/Beirut", ("Lebanon",)),
    ("LI", "Europe/Vaduz", ("Liechtenstein",)),
    ("LK", "Asia/Colombo", ("Sri Lanka",)),
    ("LT", "Europe/Vilnius", ("Lithuania",)),
    ("LU", "Europe/Luxembourg", ("Luxembourg",)),
    ("LV", "Europe/Riga", ("Latvia",)),
    ("MA", "Africa/Casablanca", ("Morocco",)),
    ("MC", "Europe/Monaco", ("Monaco",)),
    ("MD", "Europe/Chisinau", ("Moldova",)),
    ("ME", "Europe/Podgorica", ("Montenegro",)),
    ("MK", "Europe/Skopje", ("North Macedonia", "Macedonia")),
    ("MT", "Europe/Malta", ("Malta",)),
    ("MX", None, ("Mexico", "México")),
    ("MY", "Asia/Kuala_Lumpur", ("Malaysia",)),
    ("NG", "Africa/Lagos", ("Nigeria",)),
    ("NL", "Europe/Amsterdam", ("Netherlands", "Holland", "Nederland")),
    ("NO", "Europe/Oslo", ("Norway", "Norge")),
    ("NP", "Asia/Kathmandu", ("Nepal",)),
    ("NZ", None, ("New Zealand",)),
    ("PA", "America/Panama", ("Panama",)),
    ("PE", "America/Lima", ("Peru",)),
    ("PH", "Asia/Manila", ("Philippines",)),
    ("PK", "Asia/Karachi", ("Pakistan",)),
    ("PL", "Europe/Warsaw", ("Poland", "Polska")),
    ("PR", "America/Puerto_Rico", ("Puerto Rico",)),
    ("PT", None, ("Portugal",)),
    ("PY", "America/Asuncion", ("Paraguay",)),
    ("QA", "Asia/Qatar", ("Qatar",)),
    ("RO", "Europe/Bucharest", ("Romania",)),
    ("RS", "Europe/Belgrade", ("Serbia",)),
    ("RU", None, ("Russia", "Russian Federation")),
    ("SA", "Asia/Riyadh", ("Saudi Arabia",)),
    ("SE", "Europe/Stockholm", ("Sweden", "Sverige")),
    ("SG", "Asia/Singapore", ("Singapore",)),
    ("SI", "Europe/Ljubljana", ("Slovenia",)),
    ("SK", "Europe/Bratislava", ("Slovakia",)),
    ("SN", "Africa/Dakar", ("Senegal",)),
    ("TH", "Asia/Bangkok", ("Thailand",)),
    ("TN", "Africa/Tunis", ("Tunisia",)),
    ("TR", "Europe/Istanbul", ("Turkey", "Türkiye")),
    ("TT", "America/Port_of_Spain", ("Trinidad and Tobago",)),
    ("TW", "Asia/Taipei", ("Taiwan",)),
    ("TZ", "Africa/Dar_es_Salaam", ("Tanzania",)),
    ("UA", None, ("Ukraine",)),
    ("UG", "Africa/Kampala", ("Uganda",)),
    ("US", None, ("United States", "United States of America", "USA", "America")),
    ("UY", "America/Montevideo", ("Uruguay",)),
    ("VE", "America/Caracas", ("Venezuela",)),
    ("VN", "Asia/Ho_Chi_Minh", ("Vietnam", "Viet Nam")),
    ("ZA", "Africa/Johannesburg", ("South Africa",)),
)

# Major event cities whose names are not tz zone names (those resolve
# without a list), with their country so that a contradicting country wins.
# Deliberately small: coordinates are the real answer for everything else.
_CITY_ZONES: dict[str, tuple[str, str]] = {
    _normalise(city): (country, zone)
    for country, zone, cities in (
        ("US", "America/New_York", ("Brooklyn", "Boston", "Washington", "Philadelphia", "Atlanta", "Miami", "Orlando")),
        ("US", "America/Chicago", ("Austin", "Houston", "Dallas", "Nashville", "New Orleans", "Minneapolis")),
        ("US", "America/Los_Angeles", ("San Francisco", "Oakland", "San Diego", "Las Vegas", "Seattle")),
        ("CA", "America/Toronto", ("Montreal", "Montréal", "Ottawa")),
        ("CA", "America/Edmonton", ("Calgary",)),
        ("AU", "Australia/Sydney", ("Canberra",)),
        ("BR", "America/Sao_Paulo", ("Rio de Janeiro", "Brasília")),
        ("MX", "America/Mexico_City", ("Guadalajara",)),
        ("MX", "America/Cancun", ("Tulum", "Playa del Carmen")),
        ("ES", "Europe/Madrid", ("Barcelona", "Ibiza", "Valencia", "Seville", "Sevilla", "Málaga", "Bilbao")),
        ("ES", "Atlantic/Canary", ("Tenerife", "Gran Canaria", "Las Palmas")),
        ("PT", "Europe/Lisbon", ("Porto",)),
        ("RU", "Europe/Moscow", ("Saint Petersburg", "St. Petersburg")),
        ("CN", "Asia/Shanghai", ("Beijing", "Shenzhen", "Guangzhou")),
        ("ID", "Asia/Makassar", ("Bali", "Denpasar")),
        ("DE", "Europe/Berlin", ("Hamburg", "Munich", "München", "Cologne", "Köln", "Frankfurt", "Leipzig")),
        ("GB", "Europe/London", ("Manchester", "Glasgow", "Edinburgh", "Bristol", "Leeds", "Liverpool")),
        ("IT", "Europe/Rome", ("Milan", "Milano", "Naples", "Florence", "Turin")),
        ("FR", "Europe/Paris", ("Marseille", "Lyon", "Bordeaux")),
        ("NL", "Europe/Amsterdam", ("Rotterdam", "Utrecht", "The Hague", "Eindhoven")),
        ("BE", "Europe/Brussels", ("Antwerp", "Ghent")),
        ("PL", "Europe/Warsaw", ("Krakow", "Kraków")),
        ("SE", "Europe/Stockholm", ("Gothenburg",)),
        ("CH", "Europe/Zurich", ("Geneva", "Basel")),
        ("IL", "Asia/Jerusalem", ("Tel Aviv",)),
        ("IN", "Asia/Kolkata", ("Mumbai", "Delhi", "New Delhi", "Bangalore", "Bengaluru")),
        ("JP", "Asia/Tokyo", ("Osaka", "Kyoto")),
        ("ZA", "Africa/Johannesburg", ("Cape Town", "Durban")),
    )
    for city in cities
}
