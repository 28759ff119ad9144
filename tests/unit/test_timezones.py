"""Time zones resolved once, at import: source zone, coordinates, gazetteer city, country, UTC."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.event_data import EventData, parse_event, parse_event_with_notes
from integrations.timezones import CityGazetteer, CountryZones, TimezoneResolver, ZoneResolution, resolve_timezone

# An excerpt of the tz database's zone.tab and iso3166.tab, in their real format.
ZONE_TAB_EXCERPT = """\
# tzdb timezone descriptions
#country-
#code\tcoordinates\tTZ\t\t\tcomments
DE\t+5230+01322\tEurope/Berlin\tmost of Germany
DE\t+4742+00841\tEurope/Busingen\tBusingen
ES\t+4024-00341\tEurope/Madrid\tSpain (mainland)
ES\t+3553-00519\tAfrica/Ceuta\tCeuta, Melilla
ES\t+2806-01524\tAtlantic/Canary\tCanary Islands
GB\t+513030-0000731\tEurope/London
US\t+404251-0740023\tAmerica/New_York\tEastern (most areas)
US\t+415100-0873900\tAmerica/Chicago\tCentral (most areas)
US\t+340308-1181434\tAmerica/Los_Angeles\tPacific
"""
ISO3166_EXCERPT = "# ISO 3166 alpha-2 country codes\nDE\tGermany\nES\tSpain\nGB\tBritain (UK)\nUS\tUnited States\n"


def zone_of(location: dict[str, Any] | None, timezone: str | None = None) -> ZoneResolution:
    return resolve_timezone(
        EventData.model_validate({"title": "x", "location": location, "time": {"timezone": timezone}})
    )


# -- the order of the issue, with the gazetteer -------------------------------------


@pytest.mark.parametrize(
    ("location", "zone"),
    [
        ({"city": "Portland", "state": "OR", "country": "USA"}, "America/Los_Angeles"),
        ({"city": "Portland", "state": "Oregon", "country": "United States"}, "America/Los_Angeles"),
        # The original answered America/Los_Angeles here too: it never read the state.
        ({"city": "Portland", "state": "ME", "country": "USA"}, "America/New_York"),
        ({"city": "Portland", "state": "Maine"}, "America/New_York"),
        ({"city": "Perth"}, "Australia/Perth"),
        ({"city": "Perth", "country": "Australia"}, "Australia/Perth"),
        ({"city": "Perth", "country": "UK"}, "Europe/London"),
        # The original's own test locations (tests/unit/shared/test_timezone.py there), without coordinates.
        ({"city": "Los Angeles", "state": "CA"}, "America/Los_Angeles"),
        ({"city": "New York", "state": "NY", "country": "USA"}, "America/New_York"),
        ({"city": "London", "country": "UK"}, "Europe/London"),
        ({"city": "Berlin", "country": "Germany"}, "Europe/Berlin"),
        # Names that are no zone's city, which a hand-made table had to list.
        ({"city": "San Francisco", "country": "US"}, "America/Los_Angeles"),
        ({"city": "München"}, "Europe/Berlin"),
        ({"city": "Ibiza", "country": "Spain"}, "Europe/Madrid"),
        ({"city": "Las Palmas de Gran Canaria", "country": "España"}, "Atlantic/Canary"),
        ({"city": "St. Petersburg", "country": "Russia"}, "Europe/Moscow"),
        ({"city": "São Paulo", "country": "Brazil"}, "America/Sao_Paulo"),
        ({"city": "Denpasar", "country": "Indonesia"}, "Asia/Makassar"),
    ],
)
def test_zone_from_the_city_in_the_gazetteer(location: dict[str, Any], zone: str) -> None:
    assert zone_of(location) == ZoneResolution(zone, "city")


@pytest.mark.parametrize(
    ("lat", "lng", "zone"),
    [
        (34.0522, -118.2437, "America/Los_Angeles"),  # the original's test coordinates
        (40.7128, -74.006, "America/New_York"),
        (51.5074, -0.1278, "Europe/London"),
        (-31.9523, 115.8613, "Australia/Perth"),
    ],
)
def test_zone_from_coordinates_beats_city_and_country(lat: float, lng: float, zone: str) -> None:
    # City and country say otherwise on purpose: coordinates are more precise.
    location = {"coordinates": {"lat": lat, "lng": lng}, "city": "Tokyo", "country": "Japan"}

    assert zone_of(location) == ZoneResolution(zone, "coordinates")


def test_coordinates_at_sea_fall_through_to_the_city() -> None:
    # 0,0 is the usual placeholder; only Etc/GMT covers it.
    assert zone_of({"coordinates": {"lat": 0, "lng": 0}, "city": "Berlin"}) == ZoneResolution("Europe/Berlin", "city")


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("Germany", "Europe/Berlin"),
        ("Deutschland", "Europe/Berlin"),
        ("DE", "Europe/Berlin"),
        ("DEU", "Europe/Berlin"),
        ("United Kingdom", "Europe/London"),
        ("UK", "Europe/London"),
        ("U.K.", "Europe/London"),
        ("fr", "Europe/Paris"),
        ("Japan", "Asia/Tokyo"),
        ("Türkiye", "Europe/Istanbul"),
        ("Argentina", "America/Argentina/Buenos_Aires"),
    ],
)
def test_zone_of_a_single_zone_country(country: str, zone: str) -> None:
    assert zone_of({"country": country}) == ZoneResolution(zone, "country")


def test_a_city_not_in_the_given_country_is_ignored() -> None:
    # GeoNames has no Hamburg of 15,000 people in the US, and the US keeps several clocks.
    assert zone_of({"city": "Hamburg", "country": "USA"}) == ZoneResolution("UTC", "default")


@pytest.mark.parametrize(
    "location",
    [None, {}, {"country": "USA"}, {"city": "Unknownville", "country": "Nowhereland"}, {"country": "Spain"}],
)
def test_nothing_else_locates_it_so_utc(location: dict[str, Any] | None) -> None:
    assert zone_of(location) == ZoneResolution("UTC", "default")


# -- the source's own zone ----------------------------------------------------------


def test_a_valid_source_zone_wins_in_its_canonical_spelling() -> None:
    berlin = {"coordinates": {"lat": 52.52, "lng": 13.405}}

    assert zone_of(berlin, "america/new_york") == ZoneResolution("America/New_York", "source")


@pytest.mark.parametrize("bogus", ["Mars/Olympus_Mons", "../../etc/passwd", "+02:00", "Europe", "localtime"])
def test_an_invalid_source_zone_is_replaced_and_the_note_says_why(bogus: str) -> None:
    parsed = parse_event_with_notes(
        {"title": "x", "time": {"timezone": bogus}, "location": {"coordinates": {"lat": 52.52, "lng": 13.405}}}
    )

    assert parsed.event.time is not None
    assert parsed.event.time.timezone == "Europe/Berlin"
    assert parsed.notes == (
        f"time.timezone: {bogus!r} is not an IANA time zone; used Europe/Berlin (from the coordinates)",
    )


def test_an_invalid_source_zone_with_nothing_else_to_go_on_says_utc_is_the_default() -> None:
    parsed = parse_event_with_notes({"title": "x", "time": {"timezone": "Mars/Olympus_Mons"}})

    assert parsed.notes == (
        "time.timezone: 'Mars/Olympus_Mons' is not an IANA time zone; "
        "used UTC (the default: nothing else located the event)",
    )


def test_an_import_stores_the_zone_and_keeps_the_times_local() -> None:
    event = parse_event({"title": "x", "date": "2025-06-30", "time": {"start": "9pm"}, "location": {"city": "Perth"}})

    assert event.time is not None
    assert (event.time.start, event.time.timezone) == ("21:00", "Australia/Perth")
    assert parse_event_with_notes(event.model_dump(mode="json")).notes == ()


# -- the gazetteer and the country tables, with injected data ------------------------


def test_gazetteer_prefers_primary_names_then_population_then_the_state() -> None:
    def city(name: str, admin1: str, zone: str, population: int, *others: str) -> dict[str, object]:
        return {"name": name, "alternatenames": list(others), "countrycode": "US", "admin1code": admin1,
                "timezone": zone, "population": population}  # fmt: skip

    records = [
        city("Springfield", "IL", "America/Chicago", 114_000),
        city("Springfield", "MA", "America/New_York", 155_000),
        city("Big City", "CA", "America/Los_Angeles", 9_000_000, "Springfield"),
        city("Nowhere", "XX", "Not/AZone", 1),
    ]
    states = [{"code": "IL", "name": "Illinois"}, {"code": "MA", "name": "Massachusetts"}]
    gazetteer = CityGazetteer.from_records(records, states)

    assert gazetteer.zone_for("Springfield") == "America/New_York"  # a primary name, the most people
    assert gazetteer.zone_for("springfield", state="Illinois") == "America/Chicago"
    assert gazetteer.zone_for("Springfield", state="IL", country_code="US") == "America/Chicago"
    assert gazetteer.zone_for("Springfield", state="Nowhere") == "America/New_York"  # an unknown state narrows nothing
    assert gazetteer.zone_for("Springfield", country_code="GB") is None
    assert gazetteer.zone_for("Big City") == "America/Los_Angeles"
    assert gazetteer.zone_for("Nowhere") is None  # an entry without a real zone is skipped
    assert gazetteer.zone_for("") is None


def test_country_zones_treat_same_wall_clock_zones_as_one() -> None:
    countries = CountryZones.from_tz_tables(ZONE_TAB_EXCERPT, ISO3166_EXCERPT)

    assert countries.zones["DE"] == ("Europe/Berlin", "Europe/Busingen")
    assert countries.single_zone("DE") == "Europe/Berlin"  # Busingen keeps Berlin's clock
    assert countries.single_zone("ES") is None  # the Canaries are an hour behind
    assert countries.single_zone("US") is None
    assert countries.single_zone("GB") == "Europe/London"
    assert countries.single_zone("XX") is None
    assert countries.code_for("Britain") == "GB"  # "Britain (UK)" in iso3166.tab
    assert countries.code_for("Britain (UK)") == "GB"
    assert countries.code_for("Spain") == "ES"
    assert countries.code_for("Atlantis") is None


def test_injected_tables_drive_resolution() -> None:
    records = [{"name": "Chicago", "countrycode": "US", "timezone": "America/Chicago", "population": 2_700_000}]
    resolver = TimezoneResolver(
        CityGazetteer.from_records(records), CountryZones.from_tz_tables(ZONE_TAB_EXCERPT, ISO3166_EXCERPT)
    )

    def resolve(location: dict[str, Any]) -> str:
        return resolver.resolve(EventData.model_validate({"title": "x", "location": location})).zone

    assert resolve({"country": "Deutschland"}) == "Europe/Berlin"
    assert resolve({"country": "Spain"}) == "UTC"
    assert resolve({"city": "Chicago", "country": "Spain"}) == "UTC"
    assert resolve({"city": "Chicago", "country": "US"}) == "America/Chicago"
