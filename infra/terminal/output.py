"""Where a command's answer goes: a table, an empty-result message or JSON on stdout; progress and notes on stderr.

``--json`` prints the operation's answer exactly as the HTTP API and the MCP
server give it; otherwise people get a table that fits the terminal
(``--wide``: every cell whole), a message when there is nothing to show, and
long runs end with a one-line summary.  Progress is drawn only on a terminal.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra.terminal.tables import Column, build_table

#: Wide enough for any row: ``--wide`` must never cut or wrap a cell.
UNLIMITED = 10_000


class Output:
    """One command's output channels and format."""

    def __init__(
        self, *, as_json: bool = False, wide: bool = False, stdout: Console | None = None, stderr: Console | None = None
    ) -> None:
        self.as_json = as_json
        self.wide = wide
        self.stdout = stdout or Console(highlight=False)
        self.stderr = stderr or Console(stderr=True, highlight=False)

    # -- answers -----------------------------------------------------------------------

    def json(self, answer: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
        """The answer as JSON, unstyled, whole (for scripts)."""
        if isinstance(answer, BaseModel):
            text = answer.model_dump_json(indent=2)
        elif isinstance(answer, dict):
            text = json.dumps(answer, indent=2, default=str)
        else:
            text = "[" + ",\n".join(item.model_dump_json(indent=2) for item in answer) + "]"
        self.stdout.print(text, markup=False, highlight=False, soft_wrap=True)

    def table(
        self, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, empty: str, title: str | None = None
    ) -> None:
        """Rows as a table that fits the terminal, or ``empty`` when there are none."""
        if not rows:
            self.stdout.print(escape(empty))
            return
        table = build_table(columns, rows, width=self.stdout.width, wide=self.wide, title=title)
        if self.wide:
            # A console as wide as the widest row: print(width=...) may only narrow its console.
            wide = Console(file=self.stdout.file, width=UNLIMITED, no_color=self.stdout.no_color, highlight=False)
            wide.print(table, crop=False)
        else:
            self.stdout.print(table)

    def line(self, text: str) -> None:
        """A plain line on stdout (a summary, a field), never read as markup."""
        self.stdout.print(text, markup=False, highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        """A line on stderr, for people (the target, a skipped item): never in the way of a pipe."""
        self.stderr.print(text, markup=False, highlight=False, soft_wrap=True)

    # -- long runs ---------------------------------------------------------------------

    @contextlib.contextmanager
    def progress(self, what: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr (on a terminal only); yields ``advance(n)``."""
        if not self.stderr.is_terminal or self.as_json:
            yield lambda n: None
            return
        with Progress(
            TextColumn(f"[bold]{escape(what)}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.stderr,
            transient=True,
        ) as bar:
            task = bar.add_task(what, total=total)
            yield lambda n: bar.advance(task, n)

    @contextlib.contextmanager
    def status(self, what: str) -> Iterator[None]:
        """A spinner on stderr while one call runs (on a terminal only)."""
        if not self.stderr.is_terminal or self.as_json:
            yield
            return
        with self.stderr.status(escape(what)):
            yield
