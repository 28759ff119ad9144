"""The benchmark suite runs: every benchmark at --quick sizes, with figures that make sense.

No timing thresholds here: how fast things are is for ``make bench`` to
report, not for a test to judge.  What is checked is structure (every figure
has a baseline from the same run and a ratio derived from the two) and the
sanity of what is counted, not timed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import BENCHMARKS, Benchmark, aws_calls, cold_start, concurrency, memory, selectors, size
from bench.__main__ import main
from bench.report import BenchmarkResult, Figure
from infra import lambda_build
from infra.aws.stack import load_template
from integrations.selectors import STANDARD_SELECTORS


def fake_build(out: Path, **_: object) -> dict[str, Path]:
    """Stands in for the pip builds (tests/integration/test_artifacts.py builds for real): 1, 2, ... MB."""
    built = {}
    for megabytes, logical_id in enumerate(sorted(lambda_build.template_functions()), 1):
        (out / logical_id).mkdir(parents=True)
        (out / logical_id / "blob").write_bytes(b"x" * megabytes * size.MB)
        built[logical_id] = out / logical_id
    return built


@pytest.fixture(scope="module")
def results() -> dict[str, BenchmarkResult]:
    """Every benchmark, once, at quick sizes (shared: together they take a while); builds faked for ``size``."""
    measured = {name: benchmark(quick=True) for name, benchmark in BENCHMARKS.items() if name != size.NAME}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lambda_build, "build_all", fake_build)
        patch.setattr(size, "shared_artifact_size", lambda *_: 10 * size.MB)
        measured[size.NAME] = size.run(quick=True)
    return {name: measured[name] for name in BENCHMARKS}


def test_size_reports_each_function_against_the_shared_artifact(results: dict[str, BenchmarkResult]) -> None:
    figures = by_subject(results[size.NAME])

    assert set(figures) == set(lambda_build.template_functions())
    assert sorted(figure.value for figure in figures.values()) == [float(n) for n in range(1, len(figures) + 1)]
    for logical_id, figure in figures.items():
        assert figure.id == f"size.{logical_id}_mb"
        assert figure.ratio == pytest.approx(figure.value / 10)


def by_subject(result: BenchmarkResult) -> dict[str, Figure]:
    return {figure.subject: figure for figure in result.figures}


def replay(result: BenchmarkResult, ran: list[str] | None = None) -> Benchmark:
    """A stand-in benchmark returning ``result`` (and noting its name in ``ran``)."""

    def run(*, quick: bool = False) -> BenchmarkResult:
        if ran is not None:
            ran.append(result.name)
        return result

    return run


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_every_figure_has_a_baseline_and_a_ratio_derived_from_both(
    results: dict[str, BenchmarkResult], name: str
) -> None:
    result = results[name]

    assert result.name == name
    assert result.figures
    for figure in result.figures:
        assert math.isfinite(figure.value)
        assert figure.value >= 0
        assert math.isfinite(figure.baseline)
        assert figure.baseline > 0
        assert figure.baseline_label
        assert figure.ratio_label
        # value / baseline, or a speedup (baseline / value): nothing else.
        quotients = [figure.value / figure.baseline]
        if figure.value:
            quotients.append(figure.baseline / figure.value)
        assert any(figure.ratio == pytest.approx(quotient) for quotient in quotients)
        json.dumps(figure.details, allow_nan=False)


def template_functions() -> set[str]:
    resources = load_template()["Resources"]
    return {logical_id for logical_id, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def test_cold_start_times_every_function_in_the_template(results: dict[str, BenchmarkResult]) -> None:
    figures = by_subject(results[cold_start.NAME])

    assert set(figures) == template_functions()
    for figure in figures.values():
        assert figure.baseline_label == "import boto3"
        assert set(figure.details["watched_modules_loaded"]) == set(cold_start.WATCHED_MODULES)
        assert len(figure.details["samples_ms"]) == results[cold_start.NAME].parameters["runs"]


def test_aws_calls_per_event_stay_within_the_naive_baselines(results: dict[str, BenchmarkResult]) -> None:
    figures = by_subject(results[aws_calls.NAME])

    assert set(figures) == {"import (new events)", "re-import (unchanged)", "fan-out", "submit"}
    for figure in figures.values():
        assert figure.value <= figure.baseline, figure
    # Batching to the service limit: ten messages per SendMessageBatch, the last one takes the rest.
    fanout = figures["fan-out"].details
    messages = fanout["entries_by_operation"]["SendMessageBatch"]
    assert messages == results[aws_calls.NAME].parameters["events"]
    assert fanout["calls_by_operation"] == {"SendMessageBatch": math.ceil(messages / 10)}
    # The submit function cannot go below its two writes per message (claim, outcome).
    assert figures["submit"].value >= aws_calls.SUBMIT_FLOOR_CALLS


def test_a_batch_reaches_the_destination_concurrently(results: dict[str, BenchmarkResult]) -> None:
    peak = next(figure for figure in results[concurrency.NAME].figures if figure.metric == "peak requests in flight")

    assert peak.baseline == 1
    assert 1 < peak.value <= results[concurrency.NAME].parameters["batch_size"]


def test_selectors_read_at_least_what_they_select(results: dict[str, BenchmarkResult]) -> None:
    result = results[selectors.NAME]
    figures = by_subject(result)
    events = result.parameters["events"]

    assert set(figures) == set(STANDARD_SELECTORS)
    for figure in figures.values():
        assert figure.value >= 1, figure
        assert figure.details["full_scan_items"] == events
    assert figures["all"].details["selected"] == events
    assert figures["by-url"].details["selected"] == 1


def test_memory_reports_a_peak_per_function(results: dict[str, BenchmarkResult]) -> None:
    figures = by_subject(results[memory.NAME])

    assert set(figures) <= template_functions()
    assert len(figures) == 2
    for figure in figures.values():
        assert figure.unit == "MiB"
        assert figure.id == f"memory.{'fanout' if figure.subject == 'FanoutFunction' else 'submit'}_rss_mb"
        # Process RSS: a handler and a batch cost more than importing boto3 alone, in the same run.
        assert figure.value > figure.baseline > 0


def test_main_prints_one_table_and_writes_the_json(
    results: dict[str, BenchmarkResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The measured results stand in for the benchmarks: this checks the command, not them again.
    for name, result in results.items():
        monkeypatch.setitem(BENCHMARKS, name, replay(result))
    output = tmp_path / "results.json"

    assert main(["--quick", "--output", str(output)]) == 0

    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["quick"] is True
    assert list(document["benchmarks"]) == list(BENCHMARKS)
    for name, result in results.items():
        assert len(document["benchmarks"][name]["figures"]) == len(result.figures)
    printed = capsys.readouterr().out
    assert all(name in printed for name in BENCHMARKS)


def test_only_runs_the_benchmarks_named(
    results: dict[str, BenchmarkResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    for name, result in results.items():
        monkeypatch.setitem(BENCHMARKS, name, replay(result, ran))
    output = tmp_path / "results.json"

    assert main(["--only", selectors.NAME, "--output", str(output)]) == 0

    assert ran == [selectors.NAME]
    assert list(json.loads(output.read_text(encoding="utf-8"))["benchmarks"]) == [selectors.NAME]
