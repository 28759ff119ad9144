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

from bench import (
    BENCHMARKS,
    Benchmark,
    aws_calls,
    cold_start,
    concurrency,
    e2e,
    memory,
    readme,
    report,
    selectors,
    size,
)
from bench.__main__ import main
from bench.report import BenchmarkError, BenchmarkResult, Figure
from infra import lambda_build
from infra.aws.stack import load_template
from integrations.selectors import STANDARD_SELECTORS

# The first test sets up every benchmark at once (the shared fixture below): on a busy machine that
# alone can take longer than the suite's default per-test timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


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
    with pytest.MonkeyPatch.context() as patch:
        # Smaller than --quick: this checks what the benchmarks count and report, not how fast things are.
        patch.setattr(cold_start, "QUICK_RUNS", 1)
        patch.setattr(concurrency, "QUICK_ROUNDS", 1)
        patch.setattr(selectors, "SIZES", (20, 40))
        patch.setattr(e2e, "QUICK_EVENTS", 10)
        patch.setattr(e2e, "AS_DECLARED", 1)  # one submit function: ten events need no more
        patch.setattr(e2e, "ZERO_WINDOWS", True)
        measured = {name: benchmark(quick=True) for name, benchmark in BENCHMARKS.items() if name != size.NAME}
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
    result = results[cold_start.NAME]
    first_event_ids = set(cold_start.FIRST_EVENT_IDS.values())
    imports = {figure.subject: figure for figure in result.figures if figure.id not in first_event_ids}
    first_events = {figure.id: figure for figure in result.figures if figure.id in first_event_ids}

    assert set(imports) == template_functions()
    assert set(cold_start.FIGURE_IDS.values()) <= {figure.id for figure in imports.values()}
    assert set(first_events) == first_event_ids
    for figure in result.figures:
        assert figure.baseline_label == "a process importing boto3"
        assert len(figure.details["samples_ms"]) == result.parameters["runs"]
    for figure in imports.values():
        assert set(figure.details["watched_modules_loaded"]) == set(cold_start.WATCHED_MODULES)
    for figure in first_events.values():
        # Same baseline samples as the imports: one run, taking turns.
        assert figure.baseline == imports[figure.subject].baseline
        assert figure.details["module"] == imports[figure.subject].details["module"]


def test_aws_calls_per_event_stay_within_the_naive_peers(results: dict[str, BenchmarkResult]) -> None:
    figures = by_subject(results[aws_calls.NAME])

    assert set(figures) == {"import (new events)", "re-import (unchanged)", "fan-out"}
    for figure in figures.values():
        assert figure.value <= figure.baseline, figure
    # Batching to the service limit: ten messages per SendMessageBatch, the last one takes the rest.
    fanout = figures["fan-out"].details
    messages = fanout["ours"]["entries_by_operation"]["SendMessageBatch"]
    assert messages == results[aws_calls.NAME].parameters["events"]
    # Besides its messages, fan-out files each change as unsubmitted in the selection index: one write
    # per deployed integration (the webhook's queue is deployed, though paused without a URL).
    deployed = results[aws_calls.NAME].parameters["integrations_deployed"]
    assert deployed >= 2
    assert fanout["ours"]["calls_by_operation"] == {
        "SendMessageBatch": math.ceil(messages / 10),
        "PutItem": messages * deployed,
    }
    # The peer's calls are counted, not assumed: one SendMessage per record.
    assert fanout["naive"]["calls_by_operation"] == {"SendMessage": messages}


def test_a_submission_is_a_claim_and_an_outcome_against_the_naive_peers_one_write(
    results: dict[str, BenchmarkResult],
) -> None:
    figures = {figure.id: figure for figure in results[concurrency.NAME].figures}

    assert set(figures) == {
        "submit.batch10_vs_one_call",
        "submit.batch10_speedup_vs_naive",
        "submit.dynamodb_calls_per_submission",
    }
    calls = figures["submit.dynamodb_calls_per_submission"]
    # Counted: the claim and the outcome (no read first, no cache read: the event rides in the message).
    assert calls.value == 2
    assert calls.details["ours"] == {"PutItem": 2 * calls.details["submissions"]}
    assert calls.details["naive"] == {"PutItem": calls.details["submissions"]}
    assert figures["submit.batch10_speedup_vs_naive"].details["one_call_seconds"] > concurrency.DELAY_SECONDS


def test_selectors_read_at_least_what_they_select(results: dict[str, BenchmarkResult]) -> None:
    result = results[selectors.NAME]
    figures = {figure.subject: figure for figure in result.figures}

    for events in result.parameters["events"]:
        for name in set(STANDARD_SELECTORS) - {"all"}:
            figure = figures[f"{name} ({events:,} cached)"]
            assert figure.value >= 1, figure
            assert figure.details["full_scan_items"] == events
            if name in selectors.TRACKED:
                assert figure.id == f"selector.{name}.reads_per_selected.{events}"
        assert figures[f"by-url ({events:,} cached)"].details["selected"] == 1


def test_e2e_reports_rate_latency_and_where_the_time_went(results: dict[str, BenchmarkResult]) -> None:
    result = results[e2e.NAME]
    figures = {figure.id: figure for figure in result.figures}

    assert set(figures) == {"e2e.events_per_second", "e2e.p50_seconds", "e2e.p95_seconds"}
    assert result.parameters["events"] == 10
    assert figures["e2e.p95_seconds"].value >= figures["e2e.p50_seconds"].value > 0
    where = result.parameters["where_the_time_went"]
    for stage in ("stream and fan-out", "queue wait", "submit"):
        assert any(key.startswith(stage) for key in where), stage
    assert where["import_seconds"] > 0
    assert any("CPU ms per event" in key for key in where)


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


def test_the_readme_table_shows_every_figure_with_its_baseline_and_ratio(results: dict[str, BenchmarkResult]) -> None:
    document = report.document(list(results.values()), quick=True)
    rendered = readme.table(json.loads(json.dumps(document)))

    for result in results.values():
        for figure in result.figures:
            assert f"{figure.ratio:.2f}{figure.ratio_label}" in rendered
            if figure.id:
                assert f"`{figure.id}`" in rendered
    old = f"intro\n{readme.START}\nstale\n{readme.END}\nrest\n"
    assert readme.replace_table(old, rendered) == f"intro\n{readme.START}\n{rendered}\n{readme.END}\nrest\n"
    with pytest.raises(BenchmarkError):
        readme.replace_table("no markers", rendered)
