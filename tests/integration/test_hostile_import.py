"""Hostile input cannot abort an import: each bad line or event is refused on its own, with its reason.

Imports run against the moto deployment of template.yaml, so an event that
DynamoDB would refuse really is refused by (moto's) DynamoDB if it gets
through, and the rest of the file must still be written.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.cli import app
from infra.pipeline.importer import MAX_EVENT_BYTES, InvalidItem, import_events, read_items
from integrations.env import load_env_model
from integrations.event_data import clean_text, event_id_for, parse_event


@pytest.fixture
def store(deployment: Stack) -> DynamoStore:
    return DynamoStore(load_env_model(TableSettings, deployment.env("FanoutFunction")))


def event(n: int, **fields: Any) -> dict[str, Any]:
    return {"title": f"Show {n}", "date": "2026-05-01", "source_url": f"https://hostile.example.com/{n}", **fields}


def line(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_one_bad_line_of_each_kind_is_refused_and_every_other_line_imported(store: DynamoStore) -> None:
    # Given a file where good lines alternate with an oversized event, JSON nested far deeper
    # than the parser's recursion limit, invalid UTF-8, a number too long to convert and an array
    oversized = event(2, long_description="x" * (MAX_EVENT_BYTES + 1))
    document = b"\n".join(
        [
            line(event(1)),
            line(oversized),
            line(event(3)),
            b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            line(event(5)),
            b'{"title": "Caf\xe9 \xff", "source_url": "https://hostile.example.com/6"}',
            b'{"title": "Big", "minimum_age": 1' + b"0" * 5000 + b"}",
            b"[1, 2]",
            line(event(9)),
        ]
    )

    # When it is read and imported
    report = import_events(store.events, read_items(io.BytesIO(document)))

    # Then each bad line is refused with its own reason, and the five good ones are cached
    problems = {item.label: "; ".join(item.problems) for item in report.invalid}
    assert set(problems) == {"line 2", "line 4", "line 6", "line 7", "line 8"}
    assert f"the limit is {MAX_EVENT_BYTES:,} bytes" in problems["line 2"]
    assert problems["line 4"] == "not readable: JSON nested too deeply"
    assert problems["line 6"].startswith("not valid UTF-8")
    assert problems["line 7"].startswith("not readable:")
    assert problems["line 8"] == "expected a JSON object, got list"
    assert report.count("created") == 4
    for n in (1, 3, 5, 9):
        assert store.events.get(event_id_for(f"https://hostile.example.com/{n}")) is not None
    assert store.events.get(event_id_for("https://hostile.example.com/2")) is None


def test_an_item_dynamodb_refuses_is_reported_and_later_events_are_still_written(
    store: DynamoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import limit above DynamoDB's own 400 KB item limit (as a misconfiguration would be)
    monkeypatch.setattr("infra.pipeline.importer.MAX_EVENT_BYTES", 2_000_000)
    items: list[tuple[str, dict[str, Any] | InvalidItem]] = [
        ("item 1", event(1, long_description="y" * 1_000_000)),
        ("item 2", event(2)),
    ]

    # When the import writes them
    report = import_events(store.events, items)

    # Then DynamoDB's refusal is that event's error, and the next event is written anyway
    assert [item.label for item in report.invalid] == ["item 1"]
    assert "could not be stored" in str(report.invalid[0])
    assert report.count("created") == 1


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Rave\x00 night", "Rave night"),
        ("\x1b[31mRED\x1b[0m alert", "RED alert"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("a\u2066b\u2069c\u200fd", "abcd"),
        ("&#27;[1mbold&#x202E;", "[1mbold"),  # as entities: the characters go, harmless text stays
        ("bell\x07 and del\x7f and c1\x9b", "bell and del and c1"),
        ("tabs\tand\nnewlines stay white space", "tabs and\nnewlines stay white space"),
    ],
)
def test_control_characters_and_bidi_overrides_are_stripped(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_every_text_field_is_cleaned_of_control_characters() -> None:
    hostile = "\x1b[31mX\u202e\x00"
    parsed = parse_event(
        {
            "title": f"T{hostile}",
            "venue": f"V{hostile}",
            "lineup": [f"L{hostile}"],
            "genres": [f"G{hostile}"],
            "promoters": [f"P{hostile}"],
            "long_description": f"D{hostile}",
            "short_description": f"S{hostile}",
            "cost": f"C{hostile}",
            "ticket_url": f"https://t.example.com/{hostile}",
            "location": {"address": f"A{hostile}", "city": f"C{hostile}", "country": f"N{hostile}"},
            "time": {"start": "20:00", "timezone": f"Europe/Berlin{hostile}"},
            "source_url": "https://hostile.example.com/fields",
        }
    )
    text = json.dumps(parsed.model_dump(mode="json"), ensure_ascii=False)
    for character in ("\x1b", "\u202e", "\x00", "[31m"):
        assert character not in text


def test_import_command_reports_every_refusal_and_exits_non_zero(
    deployment: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join([line(event(1)), b"[" * 50_000, line(event(3, title="[bold]x[/bold]"))]))
    tables = ["--stack", deployment.name]

    result = CliRunner().invoke(app, ["import", str(source), *tables])

    assert result.exit_code == 1, result.output
    assert "line 2: not readable" in result.output
    assert "created 2, updated 0, unchanged 0, invalid 1" in result.output

    # And a file with nothing wrong exits 0
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(line(event(4)))
    assert CliRunner().invoke(app, ["import", str(clean), *tables]).exit_code == 0
