"""TicketFairy transformer: the original client's wire contract, dates, URLs and escaping.

The original event-importer's client is the only evidence of what the
draft-events API accepts; where a test says "as the original", the input is
the original's own test input and the expectation what it sent.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from integrations.errors import TransformError
from integrations.event_data import EventData
from integrations.ticketfairy.transformer import TicketFairyTransformer


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
        short_description="Techno until dawn.",
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
        "hostedBy": True,
        "startDate": "2025-06-30 22:00:00",
        "endDate": "2025-07-01 06:00:00",
        "timezone": "Europe/Berlin",
        "isOnline": 0,
        "status": "Public",
        "address": "Köpenicker Str. 70, Berlin, Germany",
        "venue": "Tresor",
        "details": (
            "<p>Techno until dawn.</p>\n"
            "<p>First paragraph.</p>\n"
            "<p>Second paragraph,<br>with a line break.</p>\n"
            "<p><strong>Cost:</strong> €15</p>\n"
            "<p><strong>Lineup:</strong> DJ One, DJ Two</p>\n"
            "<p><strong>Promoters:</strong> Tresor Records, Other Promoter</p>\n"
            "<p><strong>Genres:</strong> Techno, House</p>\n"
            "<p><strong>Minimum age:</strong> 18+</p>\n"
            '<p><strong>Tickets:</strong> <a href="https://tickets.example.com/warehouse">'
            "https://tickets.example.com/warehouse</a></p>"
        ),
    }


def test_the_originals_sample_event_gets_the_originals_payload() -> None:
    # The original's own test event (tests/unit/integrations/ticketfairy/test_client.py there).
    data = event(
        title="Test Event",
        venue="Test Venue",
        date="2025-02-01",
        lineup=["Artist 1", "Artist 2"],
        genres=["house", "techno"],
        source_url="https://example.com/event",
    )

    assert TicketFairyTransformer().transform(data) == {
        "data": {
            "attributes": {
                "title": "Test Event",
                "url": "https://example.com/event",
                "image": None,  # the original: "N/A", which is no image URL
                "hostedBy": True,
                "startDate": "2025-02-01 00:00:00",
                "endDate": "2025-02-01 23:59:59",
                "timezone": "UTC",  # cached before zones were resolved on import
                "isOnline": 0,
                "status": "Public",
                "address": "",  # the original: "N/A"
                "venue": "Test Venue",
                "details": (
                    "<p><strong>Lineup:</strong> Artist 1, Artist 2</p>\n<p><strong>Genres:</strong> house, techno</p>"
                ),
            }
        }
    }


def test_wire_types_are_the_originals_json_types() -> None:
    result = attributes(event(venue="Online"))

    assert result["hostedBy"] is True
    assert type(result["isOnline"]) is int
    assert result["isOnline"] == 1


def test_status_is_a_setting() -> None:
    assert attributes(event(), TicketFairyTransformer(status="Private"))["status"] == "Private"


def test_the_stored_zone_is_sent_as_stored() -> None:
    data = event(time={"start": "21:00", "timezone": "America/New_York"}, location={"city": "Berlin"})

    result = attributes(data)

    assert (result["timezone"], result["startDate"]) == ("America/New_York", "2025-06-30 21:00:00")


def test_minimal_event_gets_empty_strings_not_missing_keys() -> None:
    result = attributes(event(source_url=None))

    assert result["url"] is None
    assert result["image"] is None
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
        "short_description": "<b>short</b> & <i>sweet</i>",
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
    assert "<p>&lt;b&gt;short&lt;/b&gt; &amp; &lt;i&gt;sweet&lt;/i&gt;</p>" in details
    assert "&lt;a href=&#x27;javascript:alert(4)&#x27;&gt;free&lt;/a&gt;" in details


def test_javascript_ticket_url_is_neither_linked_nor_used() -> None:
    result = attributes(event(ticket_url="javascript:alert(1)"))

    assert result["url"] == "https://example.com/e/1"
    assert "javascript" not in result["details"]
    assert "<a " not in result["details"]


def test_short_description_is_used_when_there_is_no_long_one() -> None:
    assert attributes(event(short_description="Short & sweet"))["details"] == "<p>Short &amp; sweet</p>"


def test_both_descriptions_are_kept_when_they_differ_and_one_when_equal() -> None:
    both = attributes(event(short_description="Short.", long_description="Long one."))["details"]
    same = attributes(event(short_description="Same.", long_description="Same."))["details"]

    assert both == "<p>Short.</p>\n<p>Long one.</p>"
    assert same == "<p>Same.</p>"


def test_cost_lineup_promoters_genres_and_age_in_the_originals_order() -> None:
    data = event(cost=12.5, lineup=["A & B"], promoters=["Promo <1>"], genres=["Dub"], minimum_age="21+")

    assert attributes(data)["details"] == (
        "<p><strong>Cost:</strong> 12.5</p>\n"
        "<p><strong>Lineup:</strong> A &amp; B</p>\n"
        "<p><strong>Promoters:</strong> Promo &lt;1&gt;</p>\n"
        "<p><strong>Genres:</strong> Dub</p>\n"
        "<p><strong>Minimum age:</strong> 21+</p>"
    )


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


def test_event_without_time_is_a_whole_day_as_the_original_sent_it() -> None:
    result = attributes(event(date="2025-06-30", time=None))

    assert (result["startDate"], result["endDate"]) == ("2025-06-30 00:00:00", "2025-06-30 23:59:59")


def test_multi_day_event_without_times_spans_to_the_end_of_its_last_day() -> None:
    result = attributes(event(date="2025-07-01", end_date="2025-07-03"))

    assert (result["startDate"], result["endDate"]) == ("2025-07-01 00:00:00", "2025-07-03 23:59:59")


def test_event_without_end_time_ends_at_the_end_of_its_day() -> None:
    result = attributes(event(date="2025-06-30", time={"start": "22:30"}))

    assert (result["startDate"], result["endDate"]) == ("2025-06-30 22:30:00", "2025-06-30 23:59:59")


def test_event_without_start_time_starts_at_midnight() -> None:
    result = attributes(event(date="2025-06-30", time={"end": "18:00"}))

    assert (result["startDate"], result["endDate"]) == ("2025-06-30 00:00:00", "2025-06-30 18:00:00")


def test_end_date_key_present_but_empty_is_never_sent_as_none() -> None:
    # The original sent "None 23:59:59" for {"end_date": None}.
    result = attributes({"title": "x", "date": "2025-06-30", "end_date": None})

    assert result["endDate"] == "2025-06-30 23:59:59"


def test_multi_day_event_with_times_keeps_its_end() -> None:
    result = attributes(event(date="2025-07-01", end_date="2025-07-03", time={"start": "22:00", "end": "04:00"}))

    assert result["endDate"] == "2025-07-03 04:00:00"


@pytest.mark.parametrize(("start", "end"), [("20:00", "20:00"), ("20:00", "00:00")])
def test_end_at_or_before_the_start_is_the_next_day(start: str, end: str) -> None:
    # The original sent "2025-06-30 00:00:00" as the end of a 20:00 start: before it.
    result = attributes(
        {"title": "x", "date": "2025-06-30", "end_date": "2025-06-30", "time": {"start": start, "end": end}}
    )

    assert result["endDate"] == f"2025-07-01 {end}:00"


def test_end_date_before_date_in_raw_data_never_yields_an_end_before_the_start() -> None:
    raw = {"title": "x", "date": "2025-06-30", "end_date": "2025-06-01", "time": {"start": "20:00", "end": "23:00"}}

    assert (attributes(raw)["startDate"], attributes(raw)["endDate"]) == ("2025-06-30 20:00:00", "2025-06-30 23:00:00")


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


def test_address_skips_blanks_and_repeats() -> None:
    location = {"address": "1 Main St, Springfield", "city": "springfield", "state": " ", "country": "USA"}

    assert attributes(event(location=location))["address"] == "1 Main St, Springfield, USA"


@pytest.mark.parametrize(
    ("fields", "online"),
    [
        ({"venue": "Online"}, 1),
        ({"venue": "Twitch", "location": {"address": "Livestream on twitch.tv"}}, 1),
        ({"venue": "Live-stream"}, 1),
        ({"venue": "Onliner Bar"}, 0),
        ({"venue": "Berghain", "location": {"city": "Berlin"}}, 0),
    ],
)
def test_is_online_only_when_venue_or_address_says_so(fields: dict[str, Any], online: int) -> None:
    assert attributes(event(**fields))["isOnline"] == online
