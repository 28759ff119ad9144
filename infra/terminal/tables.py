"""Tables that fit the terminal (80 columns unless it says otherwise), shrinking what can lose characters.

Each column has a kind, which decides how it gives way when the table is too
wide: ``text`` is cut at its end (``…``), an ``id`` in its middle (its start
and end are what people compare), and a ``date`` or a ``number`` never.
``wide`` shows every cell whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.table import Table

Kind = Literal["text", "id", "date", "number", "fixed"]
ELLIPSIS = "…"
#: Narrowest an id or a text column is cut to: less tells nothing.
MIN_WIDTH = {"text": 8, "id": 11, "date": 0, "number": 0, "fixed": 0}
#: Spaces between columns.
GAP = 2


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"


def middle_truncate(value: str, width: int) -> str:
    """``value`` in at most ``width`` characters: its start, ``…`` and its end."""
    if len(value) <= width:
        return value
    if width <= 1:
        return ELLIPSIS[:width]
    tail = (width - 1) // 2
    head = width - 1 - tail
    return value[:head] + ELLIPSIS + (value[-tail:] if tail else "")


def end_truncate(value: str, width: int) -> str:
    if len(value) <= width:
        return value
    return value[: max(0, width - 1)] + ELLIPSIS


def format_time(value: dt.datetime | None) -> str:
    """A timestamp as people read it: UTC, to the second."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def fit_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Each column's width so that the table fits ``width``: the widest id or text column gives way first."""
    natural = [max([len(column.header), *(len(row[index]) for row in rows)]) for index, column in enumerate(columns)]
    widths = list(natural)
    budget = width - GAP * (len(columns) - 1)

    def floor(index: int, minimum: dict[str, int]) -> int:
        return max(minimum[columns[index].kind], len(columns[index].header))

    # Take one character at a time from the widest id or text column that may still give one; if even
    # that is not enough (a very narrow terminal), they go below their usual minimum, never dates or numbers.
    for minimum in (MIN_WIDTH, dict.fromkeys(MIN_WIDTH, 1)):
        shrinkable = [i for i, column in enumerate(columns) if column.kind in ("text", "id")]
        while sum(widths) > budget:
            candidates = [i for i in shrinkable if widths[i] > floor(i, minimum)]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: (widths[i], columns[i].kind == "text"))
            widths[widest] -= 1
    return widths


def build_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    wide: bool = False,
    title: str | None = None,
) -> Table:
    """A rich table of ``rows`` (strings) that fits ``width`` characters, or shows everything with ``wide``."""
    widths = [len(c.header) for c in columns] if wide else fit_widths(columns, rows, width)
    table = Table(
        box=None,
        pad_edge=False,
        padding=(0, GAP // 2),
        header_style="bold",
        title=title,
        title_justify="left",
    )
    for column, column_width in zip(columns, widths, strict=True):
        table.add_column(
            column.header,
            justify="right" if column.kind == "number" else "left",
            no_wrap=True,
            min_width=None if wide else column_width,
            max_width=None if wide else column_width,
            overflow="ignore" if wide else "crop",
        )
    for row in rows:
        cells = []
        for column, column_width, cell in zip(columns, widths, row, strict=True):
            if wide or column.kind in ("date", "number", "fixed"):
                cells.append(cell)
            elif column.kind == "id":
                cells.append(middle_truncate(cell, column_width))
            else:
                cells.append(end_truncate(cell, column_width))
        table.add_row(*cells)
    return table
