"""TicketFairy transformer: payload shape, dates, URLs, escaping and time zones."""

from __future__ import annotations

import importlib.util
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from integrations.errors import TransformError
from integrations.event_data import EventData
from integrations.ticketfairy.transformer import (
    _COUNTRIES,
    CountryZones,
    TicketFairyTransformer,
    TimezoneResolver,
    default_country_zones,
)

SYSTEM_ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")
SYSTEM_ISO3166_TAB = Path("/usr/share/zoneinfo/iso3166.tab")

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


def event(**fields: Any) -> dict[str, Any]:
    """An EventData dict as the submitter hands it over: validated, then dumped."""
    data: dict[str, Any] = {"title": "Night Shift", "date": "2025-06-30", "source_url": "https://example.com/e/1"}
    data.update(fields)
    return EventData.model_validate(data).model_dump(mode="json")


def attributes(data: dict[str, Any], transformer: TicketFairyTransformer | None = None) -> dict[str, Any]:
    payload = (transformer or TicketFairyTransformer()).transform(data)
    assert set(payload) == {"data"}
    assert set(payload["data"]) == {"attributes"}
    result: dict[str, Any] = payload["data"]["attributes"]
    return result


class MarkupAudit(HTMLParser):
    """Records every tag and attribute in a fragment, to prove no event text became markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)


def audit(fragment: str) -> MarkupAudit:
    parser = MarkupAudit()
    parser.feed(fragment)
    parser.close()
    return parser


# -- the whole payload ----------------------------------------------------------------


def test_full_event_maps_to_the_draft_event_payload() -> None:
    data = event(
        title="Warehouse Sessions",
        venue="Tresor",
        date="2025-06-30",
        time={"start": "22:00", "end": "06:00", "timezone": "Europe/Berlin"},
        promoters=["Tresor Records", "Other Promoter"],
        lineup=["DJ One", "DJ Two"],
        long_description="First paragraph.\n\nSecond paragraph,\nwith a line break.",
        genres=["Techno", "House"],
        location={"address": "Köpenicker Str. 70", "city": "Berlin", "state": "Berlin", "country": "Germany"},
        images={"full": "https://img.example.com/full.jpg", "thumbnail": "https://img.example.com/thumb.jpg"},
        minimum_age="18+",
        cost="€15",
        ticket_url="https://tickets.example.com/warehouse",
    )

    assert attributes(data) == {
        "title": "Warehouse Sessions",
        "url": "https://tickets.example.com/warehouse",
        "image": "https://img.example.com/full.jpg",
        "hostedBy": "Tresor Records",
        "startDate": "2025-06-30 22:00:00",
        "endDate": "2025-07-01 06:00:00",
        "timezone": "Europe/Berlin",
        "isOnline": False,
        "status": "draft",
        "address": "Köpenicker Str. 70, Berlin, Germany",
        "venue": "Tresor",
        "details": (
            "<p>First paragraph.</p>\n"
            "<p>Second paragraph,<br>with a line break.</p>\n"
            "<p><strong>Lineup:</strong> DJ One, DJ Two</p>\n"
            "<p><strong>Genres:</strong> Techno, House</p>\n"
            "<p><strong>Price:</strong> €15</p>\n"
            "<p><strong>Minimum age:</strong> 18+</p>\n"
            '<p><strong>Tickets:</strong> <a href="https://tickets.example.com/warehouse">'
            "https://tickets.example.com/warehouse</a></p>"
        ),
    }


def test_minimal_event_gets_empty_strings_not_missing_keys() -> None:
    result = attributes(event(source_url=None))

    assert result["url"] is None
    assert result["image"] is None
    assert result["hostedBy"] == ""
    assert result["venue"] == ""
    assert result["address"] == ""
    assert result["details"] == ""
    assert result["timezone"] == "UTC"


# -- HTML injection ----------------------------------------------------------------


def test_script_in_description_arrives_escaped_through_event_data() -> None:
    # EventData strips tags but decodes entities, so encoded markup reaches the transformer as literal text.
    data = event(long_description="Come early &lt;script&gt;alert(1)&lt;/script&gt; &amp; stay")
    assert data["long_description"] == "Come early <script>alert(1)</script> & stay"

    details = attributes(data)["details"]

    assert "<script" not in details
    assert details == "<p>Come early &lt;script&gt;alert(1)&lt;/script&gt; &amp; stay</p>"


def test_attribute_breakout_in_lineup_and_raw_description_is_inert() -> None:
    # A dict straight from a caller that skipped EventData: the transformer must not trust it either.
    payload = {
        "title": "x",
        "date": "2025-06-30",
        "long_description": '<script>alert(1)</script>"><img src=x onerror=alert(2)>',
        "short_description": "unused",
        "lineup": ['"><img src=x onerror=alert(3)>', "DJ <b>Bold</b>"],
        "genres": ["<iframe src=//evil>"],
        "cost": "<a href='javascript:alert(4)'>free</a>",
        "ticket_url": 'https://tickets.example.com/?a=1&b="><script>',
    }

    details = attributes(payload)["details"]
    markup = audit(details)

    assert set(markup.tags) <= {"p", "strong", "br", "a"}
    assert markup.attributes == [("a", "href", 'https://tickets.example.com/?a=1&b="><script>')]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in details
    assert (
        "<p><strong>Lineup:</strong> &quot;&gt;&lt;img src=x onerror=alert(3)&gt;, DJ &lt;b&gt;Bold&lt;/b&gt;</p>"
        in details
    )
    assert "&lt;iframe src=//evil&gt;" in details
    assert "&lt;a href=&#x27;javascript:alert(4)&#x27;&gt;free&lt;/a&gt;" in details


def test_javascript_ticket_url_is_neither_linked_nor_used() -> None:
    result = attributes(event(ticket_url="javascript:alert(1)"))

    assert result["url"] == "https://example.com/e/1"
    assert "javascript" not in result["details"]
    assert "<a " not in result["details"]


def test_short_description_is_used_when_there_is_no_long_one() -> None:
    assert attributes(event(short_description="Short & sweet"))["details"] == "<p>Short &amp; sweet</p>"


def test_minimum_age_zero_reads_all_ages() -> None:
    assert attributes(event(minimum_age=0))["details"] == "<p><strong>Minimum age:</strong> All ages</p>"


# -- dates --------------------------------------------------------------------------


def test_overnight_event_ends_the_next_day() -> None:
    result = attributes(event(date="2025-12-31", time={"start": "23:00", "end": "04:00"}))

    assert result["startDate"] == "2025-12-31 23:00:00"
    assert result["endDate"] == "2026-01-01 04:00:00"


def test_overnight_event_without_derived_end_date_still_ends_the_next_day() -> None:
    # The transformer does not rely on EventData having derived end_date.
    raw = {"title": "x", "date": "2025-06-30", "end_date": "2025-06-30", "time": {"start": "23:00", "end": "04:00"}}

    result = attributes(raw)

    assert (result["startDate"], result["endDate"]) == ("2025-06-30 23:00:00", "2025-07-01 04:00:00")


def test_event_without_time_starts_at_eight_and_lasts_three_hours() -> None:
    result = attributes(event(date="2025-06-30", time=None))

    assert (result["startDate"], result["endDate"]) == ("2025-06-30 20:00:00", "2025-06-30 23:00:00")


def test_event_without_end_time_lasts_three_hours_even_past_midnight() -> None:
    result = attributes(event(date="2025-06-30", time={"start": "22:30"}))

    assert (result["startDate"], result["endDate"]) == ("2025-06-30 22:30:00", "2025-07-01 01:30:00")


def test_multi_day_event_without_end_time_ends_on_its_last_day() -> None:
    result = attributes(event(date="2025-07-01", end_date="2025-07-03", time={"start": "14:00"}))

    assert (result["startDate"], result["endDate"]) == ("2025-07-01 14:00:00", "2025-07-03 17:00:00")


def test_multi_day_event_with_times_keeps_its_end() -> None:
    result = attributes(event(date="2025-07-01", end_date="2025-07-03", time={"start": "22:00", "end": "04:00"}))

    assert result["endDate"] == "2025-07-03 04:00:00"


def test_end_equal_to_start_becomes_start_plus_three_hours() -> None:
    result = attributes(event(time={"start": "20:00", "end": "20:00"}))

    assert result["endDate"] == "2025-06-30 23:00:00"


def test_end_date_before_date_in_raw_data_never_yields_an_end_before_the_start() -> None:
    raw = {"title": "x", "date": "2025-06-30", "end_date": "2025-06-01", "time": {"start": "20:00", "end": "23:00"}}

    assert attributes(raw)["endDate"] == "2025-06-30 23:00:00"


def test_event_without_date_is_a_transform_error() -> None:
    with pytest.raises(TransformError, match="no date"):
        TicketFairyTransformer().transform(event(date=None))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"date": "30/06/2025"}, "date '30/06/2025' is not a YYYY-MM-DD date"),
        ({"time": {"start": "8pm"}}, "time.start '8pm' is not an HH:MM time"),
        ({"title": "  "}, "no title"),
    ],
)
def test_unreadable_raw_fields_are_transform_errors(fields: dict[str, Any], message: str) -> None:
    raw: dict[str, Any] = {"title": "x", "date": "2025-06-30", **fields}

    with pytest.raises(TransformError, match=message):
        TicketFairyTransformer().transform(raw)


# -- URLs, images, host, address, online ---------------------------------------------


@pytest.mark.parametrize("placeholder", ["N/A", "n/a", "none", "NULL", "TBD", "-", "  ", "", None, "at the door"])
def test_placeholder_ticket_url_falls_back_to_the_source_url(placeholder: str | None) -> None:
    assert attributes(event(ticket_url=placeholder))["url"] == "https://example.com/e/1"


def test_placeholder_ticket_url_adds_no_ticket_link() -> None:
    assert "Tickets" not in attributes(event(ticket_url="N/A"))["details"]


def test_image_falls_back_to_the_thumbnail() -> None:
    result = attributes(event(images={"thumbnail": "https://img.example.com/t.jpg"}))

    assert result["image"] == "https://img.example.com/t.jpg"


@pytest.mark.parametrize(
    ("fields", "host"),
    [
        ({"promoters": ["Promo A", "Promo B"], "venue": "Club"}, "Promo A"),
        ({"venue": "Club"}, "Club"),
        ({}, ""),
    ],
)
def test_hosted_by_is_first_promoter_else_venue(fields: dict[str, Any], host: str) -> None:
    assert attributes(event(**fields))["hostedBy"] == host


def test_address_skips_blanks_and_repeats() -> None:
    location = {"address": "1 Main St, Springfield", "city": "springfield", "state": " ", "country": "USA"}

    assert attributes(event(location=location))["address"] == "1 Main St, Springfield, USA"


@pytest.mark.parametrize(
    ("fields", "online"),
    [
        ({"venue": "Online"}, True),
        ({"venue": "Twitch", "location": {"address": "Livestream on twitch.tv"}}, True),
        ({"venue": "Live-stream"}, True),
        ({"venue": "Onliner Bar"}, False),
        ({"venue": "Berghain", "location": {"city": "Berlin"}}, False),
    ],
)
def test_is_online_only_when_venue_or_address_says_so(fields: dict[str, Any], online: bool) -> None:
    assert attributes(event(**fields))["isOnline"] is online


# -- time zones ------------------------------------------------------------------------


def test_explicit_timezone_wins_and_times_stay_local() -> None:
    berlin = {"coordinates": {"lat": 52.52, "lng": 13.405}}
    result = attributes(event(time={"start": "21:00", "timezone": "america/new_york"}, location=berlin))

    assert result["timezone"] == "America/New_York"
    assert result["startDate"] == "2025-06-30 21:00:00"


@pytest.mark.parametrize("bogus", ["Mars/Olympus_Mons", "+02:00", "../../etc/passwd", "Europe", "localtime"])
def test_invalid_explicit_timezone_is_ignored(bogus: str) -> None:
    berlin = {"coordinates": {"lat": 52.52, "lng": 13.405}}

    assert attributes(event(time={"timezone": bogus}, location=berlin))["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("lat", "lng", "zone"),
    [
        (52.52, 13.405, "Europe/Berlin"),
        (40.7128, -74.006, "America/New_York"),
        (-33.8688, 151.2093, "Australia/Sydney"),
    ],
)
def test_timezone_from_coordinates(lat: float, lng: float, zone: str) -> None:
    # The country says otherwise on purpose: coordinates are more precise than a country.
    location = {"coordinates": {"lat": lat, "lng": lng}, "country": "Japan"}

    assert attributes(event(location=location))["timezone"] == zone


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("Germany", "Europe/Berlin"),
        ("DE", "Europe/Berlin"),
        ("United Kingdom", "Europe/London"),
        ("UK", "Europe/London"),
        ("U.K.", "Europe/London"),
        ("fr", "Europe/Paris"),
        ("Japan", "Asia/Tokyo"),
        ("Türkiye", "Europe/Istanbul"),
        ("Argentina", "America/Argentina/Buenos_Aires"),
    ],
)
def test_timezone_from_a_single_zone_country(country: str, zone: str) -> None:
    assert attributes(event(location={"country": country}))["timezone"] == zone


@pytest.mark.parametrize(
    ("city", "country", "zone"),
    [
        ("Chicago", "USA", "America/Chicago"),  # a tz zone's own city
        ("new york", "United States", "America/New_York"),
        ("São Paulo", "Brazil", "America/Sao_Paulo"),
        ("San Francisco", "US", "America/Los_Angeles"),  # from the hand-made list
        ("Ibiza", "Spain", "Europe/Madrid"),
        ("Tenerife", "Spain", "Atlantic/Canary"),
        ("Hamburg", None, "Europe/Berlin"),
        ("St. Petersburg", "Russia", "Europe/Moscow"),
    ],
)
def test_timezone_from_the_city(city: str, country: str | None, zone: str) -> None:
    assert attributes(event(location={"city": city, "country": country}))["timezone"] == zone


def test_city_contradicting_the_country_is_ignored() -> None:
    assert attributes(event(location={"city": "Hamburg", "country": "USA"}))["timezone"] == "UTC"


@pytest.mark.parametrize(
    "location",
    [None, {"country": "USA"}, {"country": "Atlantis", "city": "Poseidonia"}, {"city": "Springfield"}],
)
def test_timezone_falls_back_to_utc(location: dict[str, Any] | None) -> None:
    assert attributes(event(location=location))["timezone"] == "UTC"


# -- country data ----------------------------------------------------------------------


def test_country_zones_from_tz_tables_treat_same_wall_clock_zones_as_one() -> None:
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


def test_injected_country_data_drives_resolution() -> None:
    resolver = TimezoneResolver(CountryZones.from_tz_tables(ZONE_TAB_EXCERPT, ISO3166_EXCERPT))
    transformer = TicketFairyTransformer(timezones=resolver)

    assert attributes(event(location={"country": "Deutschland"}), transformer)["timezone"] == "Europe/Berlin"
    assert attributes(event(location={"country": "Spain"}), transformer)["timezone"] == "UTC"
    # The tz data knows Chicago is not in Spain, so the contradicting city is ignored.
    assert attributes(event(location={"city": "Chicago", "country": "Spain"}), transformer)["timezone"] == "UTC"
    assert (
        attributes(event(location={"city": "Chicago", "country": "US"}), transformer)["timezone"] == "America/Chicago"
    )


def test_default_country_data_comes_from_tzdata_when_installed() -> None:
    expected = "tzdata" if importlib.util.find_spec("tzdata") else "fallback"

    assert default_country_zones().source == expected


@pytest.mark.skipif(not SYSTEM_ZONE_TAB.exists(), reason="no system tz database to check the fallback table against")
def test_fallback_table_agrees_with_the_tz_database() -> None:
    real = CountryZones.from_tz_tables(
        SYSTEM_ZONE_TAB.read_text(encoding="utf-8"), SYSTEM_ISO3166_TAB.read_text(encoding="utf-8")
    )

    disagreements = [
        (code, zone, real.single_zone(code)) for code, zone, _ in _COUNTRIES if real.single_zone(code) != zone
    ]

    assert disagreements == []
