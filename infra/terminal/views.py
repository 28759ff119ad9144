"""How each operation's answer reads on a terminal: one function per answer, JSON with ``--json``.

The CLI's commands parse, call the operations layer and hand the answer to
one of these; nothing here calls anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from infra.operations.models import (
    DeadLetterView,
    EventView,
    ImportResult,
    IndexBuildResult,
    IntegrationState,
    RedriveResult,
    ReplayReport,
    StatusSummary,
    SubmissionPage,
    SubmissionView,
)
from infra.terminal.output import Output
from infra.terminal.tables import Column, format_time

#: The statuses ``status`` shows, in a record's life order.
STATUS_COLUMNS = ("pending", "in_progress", "success", "failed", "skipped")


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def _depth(value: int | None) -> str:
    return "-" if value is None else str(value)


def show_integrations(out: Output, states: Sequence[IntegrationState]) -> None:
    """Each integration: queue, function and settings in the target, queue depths, fan-out on or paused."""
    if out.as_json:
        out.json(states)
        return
    columns = [
        Column("integration", "fixed"),
        Column("queue", "fixed"),
        Column("function", "fixed"),
        Column("settings"),
        Column("queued", "number"),
        Column("DLQ", "number"),
        Column("fan-out"),
    ]
    rows = [
        [
            state.name,
            _yes_no(state.deployed),
            _yes_no(state.function),
            state.settings or "?",
            _depth(state.queue_depth),
            _depth(state.dead_letter_depth),
            "-" if not state.deployed else "paused" if state.paused else "on",
        ]
        for state in states
    ]
    out.table(columns, rows, empty="no integrations are registered")


def show_status(out: Output, summary: StatusSummary) -> None:
    """Counts by status and queue depths per integration, then each one's oldest pending record."""
    if out.as_json:
        out.json(summary)
        return
    columns = [
        Column("integration", "fixed"),
        *(Column(status.replace("_", " "), "number") for status in STATUS_COLUMNS),
        Column("queued", "number"),
        Column("DLQ", "number"),
    ]
    rows = [
        [
            item.integration,
            *(str(item.counts.get(status, 0)) for status in STATUS_COLUMNS),
            _depth(item.queue_depth),
            _depth(item.dead_letter_depth),
        ]
        for item in summary.integrations
    ]
    out.table(columns, rows, empty="no integrations are registered")
    for item in summary.integrations:
        oldest = item.oldest_pending
        if oldest is not None:
            out.line(
                f"oldest pending for {item.integration}: event {oldest.event_id}, "
                f"{oldest.status} since {format_time(oldest.updated_at)} ({oldest.attempts} attempts)"
            )


def _submission_table(
    records: Sequence[SubmissionView], *, with_integration: bool, wide: bool
) -> tuple[list[Column], list[list[str]]]:
    """Columns and rows of a record table; the remote id only with ``--wide`` (80 columns hold the rest)."""
    cells: list[tuple[Column, Callable[[SubmissionView], str], bool]] = [
        (Column("event", "id"), lambda r: r.event_id, True),
        (Column("integration", "fixed"), lambda r: r.integration, with_integration),
        (Column("status", "fixed"), lambda r: r.status, True),
        (Column("tries", "number"), lambda r: str(r.attempts), True),
        (Column("remote id", "id"), lambda r: r.remote_id or "", wide),
        (Column("updated", "date"), lambda r: format_time(r.updated_at), True),
        (Column("last error"), lambda r: (r.last_error or "").replace("\n", " "), True),
    ]
    shown = [(column, cell) for column, cell, show in cells if show]
    return [column for column, _ in shown], [[cell(record) for _, cell in shown] for record in records]


def show_event(out: Output, view: EventView) -> None:
    """The event's key facts, then its records."""
    if out.as_json:
        out.json(view)
        return
    data = view.data or {}
    out.line(f"event    {view.event_id}")
    if view.data is None:
        out.line("cached   no (removed)")
    else:
        out.line(f"title    {data.get('title', '')}")
        out.line(f"date     {data.get('date') or ''}  {(data.get('time') or {}).get('timezone') or ''}".rstrip())
        out.line(f"source   {data.get('source_url') or ''}")
        out.line(f"version  {view.version}, cached {format_time(view.updated_at)}")
    columns, rows = _submission_table(view.submissions, with_integration=True, wide=out.wide)
    out.table(columns, rows, empty="no submission records yet")


def show_submissions(
    out: Output, pages: Sequence[SubmissionPage], *, integration: str | None, status: str | None, limit: int
) -> None:
    """One table of every page's records (one page as JSON when one integration was asked for)."""
    if out.as_json:
        out.json(pages[0] if integration else pages)
        return
    records = [record for page in pages for record in page.items]
    which = f"{status} " if status else ""
    where = f" for {integration}" if integration else ""
    columns, rows = _submission_table(records, with_integration=not integration, wide=out.wide)
    out.table(columns, rows, empty=f"no {which}submission records{where}")
    more = [page.integration for page in pages if page.next_token]
    if more:
        out.note(f"more records than --limit {limit} for {', '.join(more)} (--json gives a next_token)")


def show_import(out: Output, result: ImportResult) -> None:
    """Each refused item and note on stderr, then one summary line."""
    if out.as_json:
        out.json(result)
        return
    for invalid in result.invalid:
        out.note(f"skipped {invalid.label}: {'; '.join(invalid.problems)}")
    for note in result.notes:
        out.note(f"note {note}")
    out.line(
        f"created {result.created}, updated {result.updated}, "
        f"unchanged {result.unchanged}, invalid {len(result.invalid)}"
    )


def show_replay(out: Output, report: ReplayReport) -> None:
    """A dry run's exact payloads, or the events that could not be queued; then one summary line."""
    if out.as_json:
        out.json(report)
        return
    if report.dry_run:
        for item in report.items:
            out.line(f"event {item.event_id} (version {item.version}): {item.outcome}")
            if item.payload is not None:
                out.json(item.payload)
            if item.error:
                out.line(f"  {item.error}")
    failed = [item for item in report.items if item.outcome not in ("queued", "dry_run", "invalid")]
    if failed:
        out.table(
            [Column("event", "id"), Column("version", "number"), Column("outcome", "fixed"), Column("error")],
            [[item.event_id, str(item.version), item.outcome, item.error or ""] for item in failed],
            empty="",
        )
    more = " (--limit reached; more events match)" if report.truncated else ""
    if report.dry_run:
        invalid = sum(1 for item in report.items if item.outcome == "invalid")
        problems = f", {invalid} could not be transformed" if invalid else ""
        out.line(
            f"dry run: {report.selected} events selected ({report.selector}) for {report.integration}{problems}; "
            f"nothing queued{more}"
        )
    elif report.selected == 0:
        out.line(f"no {report.selector} events for {report.integration}: nothing to queue")
    else:
        out.line(
            f"queued {report.queued} of {report.selected} events selected ({report.selector}) on "
            f"{report.integration}'s queue (replay {report.replay_id}){more}"
        )


def show_dead_letters(out: Output, view: DeadLetterView) -> None:
    """The DLQ's depth and its first messages with the reason each was dead-lettered."""
    if out.as_json:
        out.json(view)
        return
    if view.depth == 0:
        out.line(f"{view.integration}'s dead-letter queue is empty")
        return
    out.line(f"{view.integration}'s dead-letter queue holds {view.depth} messages; the first {len(view.messages)}:")
    out.table(
        [Column("message", "id"), Column("event", "id"), Column("reason")],
        [[message.message_id, message.event_id or "", message.reason] for message in view.messages],
        empty="",
    )
    out.line(f"redrive them with: event-importer dlq redrive {view.integration}")


def show_redrive(out: Output, result: RedriveResult) -> None:
    """Messages not moved on stderr, then one summary line."""
    if out.as_json:
        out.json(result)
        return
    for message_id, error in result.failed.items():
        out.note(f"not moved {message_id}: {error}")
    out.line(f"moved {result.moved} messages from {result.integration}'s dead-letter queue back to its queue")


def show_index_build(out: Output, result: IndexBuildResult) -> None:
    """Events not filed on stderr, then one summary line."""
    if out.as_json:
        out.json(result)
        return
    for event_id, error in result.errors.items():
        out.note(f"not filed {event_id}: {error}")
    state = "built" if result.built else "NOT built (run it again)"
    out.line(
        f"{result.integration}'s selection index {state}: {result.events} events filed as unsubmitted, "
        f"{result.records} pending or failed records"
    )
