"""Tables fit the terminal: ids lose their middle, text its end, dates nothing; ``--wide`` shows everything."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from infra.terminal import Column, Output, middle_truncate
from infra.terminal.tables import format_time

EVENT_ID = "a" * 20 + "0123456789abcdef" * 2 + "z" * 12
WHEN = dt.datetime(2026, 12, 6, 1, 2, 3, tzinfo=dt.UTC)
COLUMNS = [
    Column("event", "id"),
    Column("status"),
    Column("tries", "number"),
    Column("updated", "date"),
    Column("last error"),
]
ROWS = [[EVENT_ID, "failed", "3", format_time(WHEN), "gave up after 3 attempts: 503 service unavailable " * 3]]


def render(*, width: int = 80, wide: bool = False, rows: list[list[str]] = ROWS) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None)
    Output(wide=wide, stdout=console, stderr=console).table(COLUMNS, rows, empty="no submission records")
    return buffer.getvalue()


def test_middle_truncation_keeps_both_ends() -> None:
    assert middle_truncate("abcdefghij", 7) == "abc…hij"
    assert middle_truncate("abcdefghij", 10) == "abcdefghij"
    assert middle_truncate("abcdefghij", 6) == "abc…ij"


def test_a_table_fits_80_columns_cutting_ids_in_the_middle_and_never_dates() -> None:
    text = render()
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    row = lines[-1]
    assert "2026-12-06 01:02:03" in row
    assert EVENT_ID not in row
    cut_id = row.split()[0]
    assert "…" in cut_id
    assert EVENT_ID.startswith(cut_id.split("…")[0])
    assert EVENT_ID.endswith(cut_id.split("…")[1])
    assert "gave up after" in row


def test_wide_shows_every_cell_whole() -> None:
    text = render(wide=True)
    assert EVENT_ID in text
    assert ROWS[0][-1].strip() in text
    assert "…" not in text


def test_an_empty_result_says_so() -> None:
    assert render(rows=[]).strip() == "no submission records"


def test_a_narrow_terminal_still_keeps_dates_whole() -> None:
    text = render(width=60)
    assert "2026-12-06 01:02:03" in text
    assert all(len(line) <= 60 for line in text.splitlines()), text
