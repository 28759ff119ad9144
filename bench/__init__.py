"""Benchmarks: speed and cost figures, each a ratio against a baseline measured in the same run.

Run ``make bench`` (or ``python -m bench``; ``--quick`` for small sizes,
``--only NAME`` for one benchmark).  Timed assertions do not belong in the
tests; these figures are for reading and for comparing runs
(``.bench/results.json``).

* ``cold_start``  a process importing each handler vs one importing ``boto3``;
* ``aws_calls``   AWS calls per event per stage vs the naive peer's (``bench.naive``);
* ``concurrency`` one SQS batch against a slow destination vs one call, and vs the naive peer;
* ``selectors``   items read per selected event at 1,000 and 10,000 cached events vs a full scan;
* ``e2e``         the local runtime end to end (2,000 events): events/s, p50/p95, where the time went;
* ``memory``      peak RSS of a process running one full batch vs one that imports boto3;
* ``size``        each function's unzipped artifact vs one artifact of every dependency.

Everything runs sealed: AWS is moto (in-process, or a moto server on loopback),
TicketFairy is respx or its loopback stand-in.  ``python -m bench.readme``
writes the README's table from the results.
"""

from __future__ import annotations

from typing import Protocol

from bench import aws_calls, cold_start, concurrency, e2e, memory, selectors, size
from bench.report import BenchmarkResult

__all__ = ["BENCHMARKS", "Benchmark"]


class Benchmark(Protocol):
    """A benchmark's ``run``: small sizes when ``quick``."""

    def __call__(self, *, quick: bool = False) -> BenchmarkResult: ...


#: Every benchmark by name, in the order the report shows them.
BENCHMARKS: dict[str, Benchmark] = {
    cold_start.NAME: cold_start.run,
    aws_calls.NAME: aws_calls.run,
    concurrency.NAME: concurrency.run,
    selectors.NAME: selectors.run,
    e2e.NAME: e2e.run,
    memory.NAME: memory.run,
    size.NAME: size.run,
}
