"""``python -m bench [--quick] [--only NAME ...] [--output PATH]``: run, print one table, write JSON."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bench import BENCHMARKS
from bench.report import document, render_table, write_json
from bench.sandbox import ROOT

DEFAULT_OUTPUT = ROOT / ".bench" / "results.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures to compare")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    # A log or a pipe gets a wide table; a terminal keeps its own width.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    results = []
    for name in arguments.only or BENCHMARKS:
        with console.status(f"running {name}{' (quick)' if arguments.quick else ''}"):
            started = time.perf_counter()
            result = BENCHMARKS[name](quick=arguments.quick)
        results.append(dataclasses.replace(result, seconds=time.perf_counter() - started))
        console.print(f"[dim]{name}: {results[-1].seconds:.1f} s[/dim]")
    console.print(render_table(results, quick=arguments.quick))
    write_json(arguments.output, document(results, quick=arguments.quick))
    console.print(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
