"""The integration framework: the base classes every integration builds on.

An integration is a small package (see ``integrations/ticketfairy``):

* ``base.py``       an ``Integration`` subclass: name, configuration, capabilities;
* ``selectors.py``  ``BaseSelector`` subclasses choosing events for operator runs;
* ``transformer.py`` a ``BaseTransformer``: ``EventData`` dict -> destination payload;
* ``client.py``     a ``BaseClient``: the HTTP calls, mapping failures to
  ``RetryableSubmitError`` / ``PermanentSubmitError``;
* ``submitter.py``  a ``BaseSubmitter`` subclass wiring the three together;
* optional ``routes.py`` (``router``), ``cli.py`` (``app``) and ``mcp_tools.py``
  (``TOOLS``, ``TOOL_HANDLERS``), loaded only when an interface asks for them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import importlib
import importlib.util
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from integrations.env import load_env_model
from integrations.errors import (
    ConfigurationError,
    CreateInDoubtError,
    EndpointGoneError,
    InvalidEventError,
    PermanentSubmitError,
    RetryableSubmitError,
    SubmitError,
    UnusableAnswerError,
)
from integrations.event_data import validate_event
from integrations.ports import ClaimOutcome, SecretReader, Store
from integrations.records import (
    CachedEvent,
    ChangeKind,
    EndpointState,
    SubmissionRecord,
    SubmissionStatus,
    SubmitResult,
)

if TYPE_CHECKING:
    from types import ModuleType

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60.0
#: How long a submitter trusts the endpoint state it read (one read per this long, not per message).
ENDPOINT_STATE_SECONDS = 30.0
#: The only response fields a record keeps (at the top level or under ``data``): never a raw body.
SUMMARY_FIELDS = ("id", "type", "status", "state")
SUMMARY_VALUE_LIMIT = 64
#: Key a client puts in a decoded body to say why it is not the destination's JSON object.
BODY_PROBLEM_KEY = "body_problem"
_NEVER_SUBMITTED = "removed from the cache before it was submitted"


class ClaimBusyError(RetryableSubmitError):
    """Another worker holds a live claim on this (event, integration, version) until ``lease_until``."""

    def __init__(self, message: str, *, lease_until: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.lease_until = lease_until


@dataclass(frozen=True)
class _Delivery:
    """What the calls for one change did."""

    payload: dict[str, Any] | None
    response: dict[str, Any] | None  # None: the destination needed no call
    remote_id: str | None
    change: ChangeKind
    note: str | None = None  # why no call was needed
    fingerprint: str | None = None  # of what was sent (``Integration.sent_fingerprint``)


class Integration(ABC):
    """One destination: its name, settings and optional interface modules.

    Subclasses set ``config_model`` (a pydantic model filled from environment
    variables prefixed ``<NAME>_``) and implement ``name`` and
    ``create_submitter``.  ``base.py`` must stay cheap to import: the registry
    imports it to list integrations, so heavy imports belong in the other
    modules, which ``create_submitter`` loads.
    """

    config_model: ClassVar[type[BaseModel]]
    #: The destination can change a submitted event in place (``BaseClient.update``).
    supports_updates: ClassVar[bool] = False
    #: The destination can withdraw a submitted event (``BaseClient.delete``).
    supports_deletes: ClassVar[bool] = False
    #: Later changes and removals address the destination's id for the event, so a
    #: create is only done once its answer carries one (``BaseClient.remote_id``).
    #: Creates are then keyed per incarnation: any repeat of one is a replay.
    needs_remote_id: ClassVar[bool] = False
    #: The ``EventData`` fields the destination shows (``None``: everything it is sent).
    #: A change that touches none of them is recorded ``skipped`` and not sent (change gating).
    sent_fields: ClassVar[frozenset[str] | None] = None
    #: HTTP 410 Gone from the destination disables it until an operator re-enables it.
    disables_on_gone: ClassVar[bool] = False

    @property
    @abstractmethod
    def name(self) -> str:
        """The integration's unique, lower-case name (also its queue's and records' key)."""

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    def sent_fingerprint(self, event_data: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
        """A hash of what this integration sends for one version: equal hashes need no second call.

        The ``sent_fields`` of ``event_data`` where declared, else the whole payload.
        """
        if self.sent_fields is not None:
            shown: Mapping[str, Any] = {name: event_data.get(name) for name in sorted(self.sent_fields)}
        else:
            shown = payload
        canonical = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def load_config(self, environ: Mapping[str, str] | None = None) -> BaseModel:
        """Read this integration's settings from the environment.

        Raises ``ConfigurationError`` naming each missing or invalid variable.
        """
        return load_env_model(self.config_model, environ, prefix=self.env_prefix)

    def is_enabled(self, environ: Mapping[str, str] | None = None) -> bool:
        """Whether the integration is configured well enough to submit."""
        try:
            self.load_config(environ)
        except ConfigurationError:
            return False
        return True

    @abstractmethod
    def create_submitter(self, store: Store, config: BaseModel, secrets: SecretReader) -> BaseSubmitter:
        """Build this integration's submitter from its loaded configuration; ``secrets`` reads its keys."""

    def selectors(self) -> Mapping[str, Callable[..., BaseSelector]]:
        """The selectors operators can name, from the integration's ``selectors.py`` (``SELECTORS``).

        Without one, the standard set (``integrations.selectors``).
        """
        module = self._optional_module("selectors")
        if module is not None and hasattr(module, "SELECTORS"):
            return dict(module.SELECTORS)
        from integrations.selectors import STANDARD_SELECTORS  # imported late: it imports this module

        return dict(STANDARD_SELECTORS)

    def create_transformer(self, environ: Mapping[str, str] | None = None) -> BaseTransformer:
        """The transformer alone, with the settings that shape payloads: for dry runs, with no client or key.

        Must build the same payloads as ``create_submitter``'s transformer.
        """
        raise NotImplementedError(f"{type(self).__name__} has no transformer for dry runs")

    # -- optional interface modules, imported only on demand ------------------

    def interfaces(self) -> list[str]:
        """Which of ``routes``, ``cli`` and ``mcp_tools`` the integration ships, without importing them.

        A front door may list them where another one's dependencies are missing (typer in a Lambda).
        """
        package = type(self).__module__.rpartition(".")[0]
        return [
            module
            for module in ("routes", "cli", "mcp_tools")
            if importlib.util.find_spec(f"{package}.{module}") is not None
        ]

    def _optional_module(self, module: str) -> ModuleType | None:
        package = type(self).__module__.rpartition(".")[0]
        qualified = f"{package}.{module}"
        # A missing module means "no such interface"; an ImportError raised
        # *inside* an existing module is a real bug and must surface.
        if importlib.util.find_spec(qualified) is None:
            return None
        return importlib.import_module(qualified)

    def get_routes(self) -> Any | None:
        """The ``router`` of the integration's ``routes.py``, if it has one."""
        module = self._optional_module("routes")
        return None if module is None else module.router

    def get_cli(self) -> Any | None:
        """The ``app`` (a typer app) of the integration's ``cli.py``, if it has one."""
        module = self._optional_module("cli")
        return None if module is None else module.app

    def get_mcp_tools(self) -> tuple[list[Any], dict[str, Callable[..., Any]]]:
        """``TOOLS`` and ``TOOL_HANDLERS`` of the integration's ``mcp_tools.py`` (empty if none)."""
        module = self._optional_module("mcp_tools")
        if module is None:
            return [], {}
        return list(module.TOOLS), dict(module.TOOL_HANDLERS)


class BaseSelector(ABC):
    """Chooses which cached events an operator run processes."""

    @abstractmethod
    def select_events(self, store: Store, service_name: str) -> Iterable[CachedEvent]:
        """Yield the selected events; reads only through ``store``."""


class BaseTransformer(ABC):
    """Maps the standard ``EventData`` dict to a destination's payload."""

    @abstractmethod
    def transform(self, event_data: dict[str, Any]) -> dict[str, Any]:
        """Return the payload for one event.

        Raises ``TransformError`` when the event cannot be represented.
        """


class BaseClient(ABC):
    """Talks to one destination over HTTP.

    Every failure must be raised: ``RetryableSubmitError`` for network errors,
    timeouts, 5xx, 408 and 429; ``PermanentSubmitError`` for other 4xx.
    A method that returns has succeeded.
    """

    @abstractmethod
    async def submit(self, data: dict[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Create the event at the destination; return the decoded response body."""

    async def update(
        self, remote_id: str, data: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Replace a submitted event (only if the integration ``supports_updates``)."""
        raise NotImplementedError(f"{type(self).__name__} does not support updates")

    async def delete(self, remote_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Withdraw a submitted event (only if the integration ``supports_deletes``).

        ``idempotency_key`` identifies this removal (stable across its retries).
        """
        raise NotImplementedError(f"{type(self).__name__} does not support deletes")

    def remote_id(self, response: Mapping[str, Any]) -> str | None:
        """The destination's id for the event in a response body, if it has one."""
        for candidate in (response.get("id"), _nested(response, "data", "id")):
            if isinstance(candidate, str | int) and not isinstance(candidate, bool) and str(candidate).strip():
                return str(candidate)
        return None

    def redact(self, text: str) -> str:
        """``text`` without any secret this client holds (override where there are secrets)."""
        return text

    def summarise(self, response: Mapping[str, Any]) -> str:
        """A short summary of a response for the record: whitelisted fields only."""
        return summarise_response(response)

    async def aclose(self) -> None:  # noqa: B027 - optional hook; most clients have nothing to release
        """Release connections; called once when the submitter is done."""


def _nested(mapping: Mapping[str, Any], *path: str) -> Any:
    node: Any = mapping
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def summarise_response(response: Mapping[str, Any]) -> str:
    """The ``SUMMARY_FIELDS`` of a response body (top level, then ``data``) as one short line.

    Whatever else a destination puts in its answer (echoed input, tokens,
    megabytes of HTML) never reaches a record.
    """
    summary: dict[str, str] = {}
    for name in (*SUMMARY_FIELDS, BODY_PROBLEM_KEY):
        value = response.get(name, _nested(response, "data", name))
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = " ".join(str(value).split())
            summary[name] = text if len(text) <= SUMMARY_VALUE_LIMIT else text[: SUMMARY_VALUE_LIMIT - 1] + "…"
    return json.dumps(summary, separators=(",", ":"), ensure_ascii=False)


def live_remote_id(record: SubmissionRecord) -> str | None:
    """The destination's id of the event's draft, if one was delivered and not withdrawn since."""
    return record.live_remote_id


def _incarnation_key(event: CachedEvent, service: str) -> str:
    incarnation = f"{event.incarnation.timestamp():.6f}" if event.incarnation else "0"
    return f"{service}:{event.event_id}:{incarnation}"


def idempotency_key(event: CachedEvent, service: str) -> str:
    """The key a destination can use to drop duplicate requests for one event version (updates).

    Unique per (integration, event, incarnation, version, content): a re-import
    after a removal, or a revert to earlier content, is a new request, never a
    replay of an old one.
    """
    return f"{_incarnation_key(event, service)}:{event.version}:{event.data_hash[:16]}"


def create_idempotency_key(event: CachedEvent, service: str) -> str:
    """The key of the one create of an event incarnation, whatever its version or content.

    A retried create, and a create superseded by a later version before its
    answer arrived, are then the same request: a destination that honours the
    key answers with the draft it already made instead of making a second one.
    """
    return f"{_incarnation_key(event, service)}:create"


class BaseSubmitter:
    """Selects, transforms and submits events for one integration, recording each outcome.

    ``submit_event`` is the unit both paths share: the queue worker calls it
    per message, ``submit_events`` (operators: replays, dry runs) calls it per
    selected event.  Error classes are mapped to outcomes here and only here.
    """

    def __init__(
        self,
        *,
        integration: Integration,
        store: Store,
        transformer: BaseTransformer,
        client: BaseClient,
        selectors: Mapping[str, Callable[..., BaseSelector]],
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.integration = integration
        self.store = store
        self.transformer = transformer
        self.client = client
        self.selectors = dict(selectors)
        self.lease_seconds = lease_seconds
        self._endpoint: tuple[float, EndpointState | None] | None = None

    @property
    def service_name(self) -> str:
        return self.integration.name

    # -- building blocks --------------------------------------------------------

    def select(self, selector_name: str, **params: Any) -> Iterable[CachedEvent]:
        """Events chosen by the named selector (``params`` go to its constructor)."""
        try:
            factory = self.selectors[selector_name]
        except KeyError:
            known = ", ".join(sorted(self.selectors))
            raise ValueError(f"unknown selector {selector_name!r} for {self.service_name}; known: {known}") from None
        return factory(**params).select_events(self.store, self.service_name)

    def build_payload(self, event: CachedEvent) -> dict[str, Any]:
        """Validate the cached data and transform it into the destination payload.

        Raises ``InvalidEventError`` or ``TransformError`` (both permanent).
        """
        data = validate_event(event.data).model_dump(mode="json")
        return self.transformer.transform(data)

    # -- one event ----------------------------------------------------------------

    async def submit_event(
        self,
        event: CachedEvent,
        *,
        change: ChangeKind = ChangeKind.CREATED,
        lease_seconds: float | None = None,
        final_attempt: bool = False,
        retry_failed: bool = False,
        attempt: int | None = None,
        force: str | None = None,
    ) -> SubmitResult:
        """Claim, transform, submit and record one event version.

        ``attempt`` is the queue's receive count for this delivery (``None`` for
        operator runs, which count one attempt per call).
        ``force`` is the id of an operator's forced replay: the version is sent
        even if it was delivered (or rejected) before, as an update where the
        integration supports updates, keyed by the replay so the destination
        does not drop it as a repeat of the earlier request.

        Returns the outcome for success, duplicates and permanent failures.
        Raises ``RetryableSubmitError`` (after recording the record as
        ``pending``) when a later attempt may succeed; on the ``final_attempt``
        the record says ``failed`` instead, before the error is raised.
        A version the destination rejected is sent again only with ``retry_failed``.
        """
        lease = self.lease_seconds if lease_seconds is None else lease_seconds
        claim = await asyncio.to_thread(
            self.store.submissions.claim,
            event.event_id,
            self.service_name,
            data_hash=event.data_hash,
            version=event.version,
            lease_seconds=lease,
            incarnation=event.incarnation,
            retry_failed=retry_failed,
            change=change,
            attempt=attempt,
            force=force is not None,
            event=event.data or None,
        )
        if claim.outcome is ClaimOutcome.BUSY:
            lease_until = claim.record.lease_until if claim.record else None
            raise ClaimBusyError(
                f"event {event.event_id} is being submitted to {self.service_name} by another worker",
                lease_until=lease_until,
            )
        if claim.outcome is not ClaimOutcome.CLAIMED or claim.record is None:
            return self._unclaimed_result(event, claim.outcome, claim.record)
        return await self._deliver(event, claim.record, change, final_attempt=final_attempt, force=force)

    def _unclaimed_result(
        self, event: CachedEvent, outcome: ClaimOutcome, record: SubmissionRecord | None
    ) -> SubmitResult:
        detail = {
            ClaimOutcome.ALREADY_SUBMITTED: "duplicate delivery: this version was already submitted",
            ClaimOutcome.SUPERSEDED: "stale delivery: a newer version is already recorded",
            ClaimOutcome.ALREADY_FAILED: "duplicate delivery: the destination already rejected this version",
        }.get(outcome, outcome.value)
        return SubmitResult(
            event_id=event.event_id,
            service=self.service_name,
            status=record.status if record else SubmissionStatus.SKIPPED,
            remote_id=record.remote_id if record else None,
            detail=detail,
            attempts=record.attempts if record else 0,
            extra={"claim": outcome.value},
        )

    def create_key(self, event: CachedEvent) -> str:
        """The ``Idempotency-Key`` of a create: per incarnation where later changes need its id."""
        if self.integration.needs_remote_id:
            return create_idempotency_key(event, self.service_name)
        # Without an id to address, each version is its own delivery, never a replay of another.
        return idempotency_key(event, self.service_name)

    def _created_id(self, response: Mapping[str, Any]) -> str | None:
        """The id in a create's answer; ``UnusableAnswerError`` when the integration needs one and it is missing."""
        remote_id = self.client.remote_id(response)
        if remote_id is None and self.integration.needs_remote_id:
            problem = response.get(BODY_PROBLEM_KEY) or "it has no id"
            raise UnusableAnswerError(
                f"{self.service_name} accepted the create but its answer cannot be used ({problem}); "
                "the next change, removal or replay resolves it by repeating the create with the same Idempotency-Key"
            )
        return remote_id

    def _change_key(self, event: CachedEvent, force: str | None) -> str:
        """The key of an update (or a re-submission): per version, and per replay when forced."""
        key = idempotency_key(event, self.service_name)
        return key if force is None else f"{key}:replay:{force}"

    async def _call_destination(
        self, event: CachedEvent, claimed: SubmissionRecord, change: ChangeKind, force: str | None = None
    ) -> _Delivery:
        """Make the calls this change needs.

        A draft that may exist but whose id is unknown (a create in doubt) is
        found first, by repeating its create under the same key; only then is
        it updated or withdrawn.
        """
        remote_id = claimed.live_remote_id
        if change is ChangeKind.REMOVED:
            return await self._withdraw(event, claimed, remote_id)
        payload = self.build_payload(event)
        sent = self.integration.sent_fingerprint(event.data, payload)
        if remote_id is not None:
            if force is None and claimed.sent_fingerprint == sent:
                # Change gating: what this destination shows is what it already has.
                fields = self.integration.sent_fields
                shown = f"the fields it shows ({', '.join(sorted(fields))})" if fields is not None else "its payload"
                note = f"not sent: the change touches nothing {self.service_name} is sent ({shown} unchanged)"
                return _Delivery(payload, None, remote_id, ChangeKind.UPDATED, note=note)
            if self.integration.supports_updates:
                key = self._change_key(event, force)
                response = await self.client.update(remote_id, payload, idempotency_key=key)
                return _Delivery(payload, response, remote_id, ChangeKind.UPDATED, fingerprint=sent)
            # A destination that cannot update gets the changed event as a new submission.
            response = await self.client.submit(payload, idempotency_key=self._change_key(event, force))
            return _Delivery(payload, response, self.client.remote_id(response) or remote_id, change, fingerprint=sent)
        response = await self.client.submit(payload, idempotency_key=self.create_key(event))
        remote_id = self._created_id(response)
        earlier = claimed.create_hash
        if remote_id is not None and earlier not in (None, event.data_hash) and self.integration.supports_updates:
            # An earlier create under this key carried other content: this answer may be
            # its replay, so the draft is brought up to this version.
            key = idempotency_key(event, self.service_name)
            response = await self.client.update(remote_id, payload, idempotency_key=key)
            return _Delivery(payload, response, remote_id, ChangeKind.UPDATED, fingerprint=sent)
        return _Delivery(payload, response, remote_id, change, fingerprint=sent)

    async def _withdraw(self, event: CachedEvent, claimed: SubmissionRecord, remote_id: str | None) -> _Delivery:
        if not self.integration.supports_deletes:
            note = f"removed from the cache; {self.service_name} cannot withdraw events" if remote_id else None
            return _Delivery(None, None, remote_id, ChangeKind.REMOVED, note=note or _NEVER_SUBMITTED)
        if remote_id is None and claimed.create_in_doubt:
            if not event.data:
                raise CreateInDoubtError(
                    f"removed while a create to {self.service_name} was in doubt, and the removed content did not "
                    f"travel with the removal (too large): look for a draft made under Idempotency-Key "
                    f"{self.create_key(event)}"
                )
            try:
                response = await self.client.submit(self.build_payload(event), idempotency_key=self.create_key(event))
            except PermanentSubmitError as exc:
                # Refused now, so never made under this key: there is nothing to withdraw.
                note = f"removed from the cache; {self.service_name} never accepted it ({exc})"
                return _Delivery(None, None, None, ChangeKind.REMOVED, note=note)
            remote_id = self._created_id(response)
        if remote_id is None:
            return _Delivery(None, None, None, ChangeKind.REMOVED, note=_NEVER_SUBMITTED)
        response = await self.client.delete(remote_id, idempotency_key=idempotency_key(event, self.service_name))
        return _Delivery(None, response, remote_id, ChangeKind.REMOVED)

    async def _deliver(
        self,
        event: CachedEvent,
        claimed: SubmissionRecord,
        change: ChangeKind,
        *,
        final_attempt: bool,
        force: str | None = None,
    ) -> SubmitResult:
        payload: dict[str, Any] | None = None
        disabled = await self._disabled_endpoint()
        if disabled is not None:
            # Recorded as a rejection, so nothing is lost: re-enable, then replay the failed ones.
            error = (
                f"not sent: the {self.service_name} endpoint is disabled ({disabled.reason or 'by an operator'}); "
                f"re-enable it (event-importer {self.service_name} enable), then replay --selector failed"
            )
            return await self._finish(
                event, claimed, None, status=SubmissionStatus.FAILED, error=error, change=change, permanent=True
            )
        try:
            delivery = await self._call_destination(event, claimed, change, force)
        except EndpointGoneError as exc:
            result = await self._finish(
                event, claimed, payload, status=SubmissionStatus.FAILED, error=str(exc), change=change, permanent=True
            )
            if not self.integration.disables_on_gone:
                return result
            state = await asyncio.to_thread(
                self.store.submissions.set_endpoint, self.service_name, disabled=True, reason=result.error
            )
            self._endpoint = (time.monotonic(), state)
            logger.error("%s endpoint disabled: %s", self.service_name, result.error)
            return dataclasses.replace(result, extra={**result.extra, "endpoint_disabled": True})
        except (InvalidEventError, PermanentSubmitError) as exc:
            return await self._finish(
                event, claimed, payload, status=SubmissionStatus.FAILED, error=str(exc), change=change, permanent=True
            )
        except UnusableAnswerError as exc:
            # Not retried by itself: repeating a create that was accepted is for the resolution
            # (the next change, removal or an operator's replay), not for a retry loop.
            return await self._finish(
                event, claimed, payload, status=SubmissionStatus.FAILED, error=str(exc), change=change
            )
        except RetryableSubmitError as exc:
            await self._record_retryable(event, claimed, payload, str(exc), change, final_attempt=final_attempt)
            raise
        except Exception as exc:
            # An unexpected error (a bug, an unmapped library error) may be
            # transient: keep the record honest and let the queue retry it.
            error = f"unexpected {type(exc).__name__}: {exc}"
            logger.exception("unexpected error submitting %s to %s", event.event_id, self.service_name)
            await self._record_retryable(event, claimed, payload, error, change, final_attempt=final_attempt)
            raise RetryableSubmitError(error) from exc
        if delivery.response is None:
            return await self._finish(
                event,
                claimed,
                None,
                status=SubmissionStatus.SKIPPED,
                remote_id=delivery.remote_id,
                summary=delivery.note,
                change=delivery.change,
            )
        return await self._finish(
            event,
            claimed,
            delivery.payload,
            status=SubmissionStatus.SUCCESS,
            remote_id=delivery.remote_id or claimed.remote_id,
            summary=self.client.summarise(delivery.response),
            change=delivery.change,
            sent_fingerprint=delivery.fingerprint,
        )

    async def _disabled_endpoint(self) -> EndpointState | None:
        """The endpoint's state if it is disabled (read at most every ``ENDPOINT_STATE_SECONDS``)."""
        if not self.integration.disables_on_gone:
            return None
        now = time.monotonic()
        if self._endpoint is None or now - self._endpoint[0] > ENDPOINT_STATE_SECONDS:
            state = await asyncio.to_thread(self.store.submissions.endpoint, self.service_name)
            self._endpoint = (now, state)
        state = self._endpoint[1]
        return state if state is not None and state.disabled else None

    async def _record_retryable(
        self,
        event: CachedEvent,
        claimed: SubmissionRecord,
        payload: dict[str, Any] | None,
        error: str,
        change: ChangeKind,
        *,
        final_attempt: bool,
    ) -> None:
        if final_attempt:
            error = f"gave up after {claimed.attempts} attempts: {error}"
        status = SubmissionStatus.FAILED if final_attempt else SubmissionStatus.PENDING
        await self._finish(event, claimed, payload, status=status, error=error, change=change)

    async def _finish(
        self,
        event: CachedEvent,
        claimed: SubmissionRecord,
        payload: dict[str, Any] | None,
        *,
        status: SubmissionStatus,
        remote_id: str | None = None,
        error: str | None = None,
        summary: str | None = None,
        change: ChangeKind | None = None,
        permanent: bool = False,
        sent_fingerprint: str | None = None,
    ) -> SubmitResult:
        # Whatever raised (the client, a library, a bug), a record never holds a secret.
        error = None if error is None else self.client.redact(error)
        summary = None if summary is None else self.client.redact(summary)
        record = await asyncio.to_thread(
            self.store.submissions.complete,
            claimed,
            status=status,
            remote_id=remote_id,
            last_error=error,
            response_summary=summary,
            change=change,
            permanent=permanent,
            sent_fingerprint=sent_fingerprint,
            event=event.data or None,
        )
        return SubmitResult(
            event_id=record.event_id,
            service=record.service,
            status=record.status,
            payload=payload,
            remote_id=record.remote_id,
            error=record.last_error,
            attempts=record.attempts,
        )

    # -- operator runs --------------------------------------------------------

    def dry_run_event(self, event: CachedEvent) -> SubmitResult:
        """The exact payload that would be sent, touching no record and no destination."""
        try:
            payload = self.build_payload(event)
        except (InvalidEventError, PermanentSubmitError) as exc:
            return SubmitResult(event.event_id, self.service_name, SubmissionStatus.FAILED, error=str(exc))
        return SubmitResult(event.event_id, self.service_name, SubmissionStatus.DRY_RUN, payload=payload)

    async def submit_events(
        self, selector_name: str, *, dry_run: bool = False, concurrency: int = 8, **params: Any
    ) -> list[SubmitResult]:
        """Submit (or, with ``dry_run``, only transform) every selected event.

        One event's failure never stops the run: each gets its own result.
        """
        events = list(self.select(selector_name, **params))
        if dry_run:
            return [self.dry_run_event(event) for event in events]
        limit = asyncio.Semaphore(concurrency)

        async def one(event: CachedEvent) -> SubmitResult:
            async with limit:
                try:
                    # An operator asked for this run: a rejected version is tried again.
                    return await self.submit_event(event, retry_failed=True)
                except SubmitError as exc:
                    status = (
                        SubmissionStatus.PENDING if isinstance(exc, RetryableSubmitError) else SubmissionStatus.FAILED
                    )
                    return SubmitResult(event.event_id, self.service_name, status, error=str(exc))
                except Exception as exc:
                    # A store or network failure on one event must not abort the run.
                    logger.exception("submitting %s to %s failed", event.event_id, self.service_name)
                    error = f"{type(exc).__name__}: {exc}"
                    return SubmitResult(event.event_id, self.service_name, SubmissionStatus.PENDING, error=error)

        return list(await asyncio.gather(*(one(event) for event in events)))

    async def aclose(self) -> None:
        await self.client.aclose()
