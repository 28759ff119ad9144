"""CalDAV client for one calendar collection, on the ``caldav`` library's async client.

A create and an update are the same request: a PUT of the event's calendar
object (``<event id>.ics`` in the collection) with the iCalendar text the
transformer built, so repeating either is harmless.  A removal is a DELETE
of that object; one that is already gone counts as done.

Failures are mapped as for every client: no connection, a timeout, 5xx, 408
and 429 (with ``Retry-After``) are retried; a refused password (401/403) is
retried with the password read afresh; any other 4xx is permanent.  The
password travels only in the ``Authorization`` header and is redacted from
anything that becomes an error message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urljoin

import niquests
from caldav import aio
from caldav.calendarobjectresource import Event
from caldav.lib import error as caldav_error
from pydantic import SecretStr

from integrations.base import BaseClient
from integrations.calendar.config import ENV_PREFIX
from integrations.errors import PermanentSubmitError, RetryableSubmitError
from integrations.redaction import Redactor

__all__ = ["CalendarClient", "PasswordProvider", "resource_name"]

logger = logging.getLogger(__name__)

#: How much of the server's explanation may end up in an error message.
DETAIL_LIMIT = 300
_RETRYABLE_STATUSES = frozenset({408, 429})
_AUTH_STATUSES = frozenset({401, 403})

#: Gives the password (``None``: the server needs none); called with ``True`` after it was refused.
PasswordProvider = Callable[[bool], SecretStr | None]


def resource_name(uid: str) -> str:
    """The calendar object's name in the collection: the event id part of its UID, plus ``.ics``."""
    return quote(uid.partition("@")[0], safe="") + ".ics"


class CalendarClient(BaseClient):
    """Writes and deletes calendar objects in the collection at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: SecretStr | PasswordProvider | None = None,
        timeout: float = 10.0,
        auth_type: str = "basic",
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.username = username
        self.auth_type = auth_type
        self.timeout = timeout
        self._password_provider: PasswordProvider = password if callable(password) else (lambda force: password)
        self._redactor = Redactor()
        self._password = self._read_password(False)
        self._password_refused = False
        self._dav: aio.AsyncDAVClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _read_password(self, force: bool) -> SecretStr | None:
        password = self._password_provider(force)
        if password is not None:
            self._redactor.add(password.get_secret_value())
        return password

    async def _client(self) -> aio.AsyncDAVClient:
        loop = asyncio.get_running_loop()
        if self._dav is not None and (self._loop is not loop or self._password_refused):
            # Connections belong to the loop that opened them; a refused password is read afresh.
            await self._discard()
        if self._dav is None:
            if self._password_refused:
                self._password = self._read_password(True)
                self._password_refused = False
            self._dav = aio.AsyncDAVClient(
                url=self.url,
                username=self.username,
                password=None if self._password is None else self._password.get_secret_value(),
                auth_type=self.auth_type if self.username else None,
                timeout=max(1, round(self.timeout)),
                # A rate limit is the queue's to wait out (visibility timeout), never a sleep here.
                rate_limit_handle=False,
                enable_rfc6764=False,
            )
            self._loop = loop
        return self._dav

    async def _discard(self) -> None:
        dav, self._dav = self._dav, None
        if dav is not None:
            try:
                await dav.close()
            except Exception:  # closing a pool of another loop: nothing to recover
                logger.debug("closing the CalDAV session failed", exc_info=True)

    def _object(self, dav: aio.AsyncDAVClient, uid: str) -> Any:
        # caldav's objects serve sync and async clients alike; their stubs only know the sync one.
        client: Any = dav
        calendar = aio.Calendar(client=client, url=self.url)
        return Event(client=client, url=urljoin(self.url, resource_name(uid)), parent=calendar)

    async def submit(self, data: dict[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """PUT the calendar object ``data["ics"]`` as ``data["uid"]``'s resource; return ``{"id": uid}``.

        Raises ``RetryableSubmitError`` or ``PermanentSubmitError`` as the module docstring says.
        """
        uid = str(data["uid"])
        body = str(data["ics"]).encode("utf-8")

        async def put() -> None:
            await self._object(await self._client(), uid).save(raw_data=body)

        await self._call("write", uid, put)
        return {"id": uid, "status": "stored"}

    async def update(
        self, remote_id: str, data: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Replace the calendar object: the same PUT as ``submit``."""
        if str(data.get("uid")) != remote_id:
            raise PermanentSubmitError(f"calendar object {remote_id} cannot be replaced by UID {data.get('uid')}")
        return await self.submit(data, idempotency_key=idempotency_key)

    async def delete(self, remote_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """DELETE the calendar object of UID ``remote_id``; one already gone counts as deleted (so no key)."""

        async def delete() -> None:
            await self._object(await self._client(), remote_id).delete()

        await self._call("delete", remote_id, delete)
        return {"id": remote_id, "status": "deleted"}

    async def _call(self, what: str, uid: str, request: Callable[[], Any]) -> None:
        try:
            # One deadline for the whole exchange, whatever the HTTP library does per phase.
            async with asyncio.timeout(self.timeout):
                await request()
        except (TimeoutError, niquests.exceptions.Timeout) as exc:
            message = f"the calendar did not answer within {self.timeout:g}s ({type(exc).__name__})"
            logger.warning(message)
            raise RetryableSubmitError(message) from exc
        except niquests.exceptions.RequestException as exc:
            # Only a failed connect proves nothing was sent; a PUT or DELETE repeated is harmless anyway.
            reached = "could not reach" if isinstance(exc, niquests.exceptions.ConnectionError) else "lost"
            message = f"{reached} the calendar: {type(exc).__name__}: {self._excerpt(str(exc))}"
            logger.warning(message)
            raise RetryableSubmitError(message) from exc
        except caldav_error.DAVError as exc:
            raise self._mapped(what, uid, exc) from exc

    def _mapped(self, what: str, uid: str, exc: caldav_error.DAVError) -> RetryableSubmitError | PermanentSubmitError:
        status = exc.status
        detail = self._excerpt(exc.reason or type(exc).__name__)
        if isinstance(exc, caldav_error.RateLimitError) or status in _RETRYABLE_STATUSES or (status or 0) >= 500:
            retry_after = getattr(exc, "retry_after_seconds", None)
            message = f"the calendar is unavailable (HTTP {status}): {detail}"
            logger.warning("%s; retry after %s s", message, retry_after)
            return RetryableSubmitError(message, status_code=status, retry_after=retry_after)
        if status in _AUTH_STATUSES:
            self._password_refused = True
            check = f"{ENV_PREFIX}USERNAME and {ENV_PREFIX}PASSWORD*"
            message = f"the calendar refused the credentials (HTTP {status}); check {check}"
            logger.warning(message)
            return RetryableSubmitError(message, status_code=status)
        if status is None:
            # No answer to judge (a library-side failure): another attempt may do.
            message = f"could not {what} calendar object {uid}: {type(exc).__name__}: {detail}"
            logger.warning(message)
            return RetryableSubmitError(message)
        message = f"the calendar rejected calendar object {uid} (HTTP {status}): {detail}"
        logger.warning(message)
        return PermanentSubmitError(message, status_code=status)

    def _excerpt(self, text: str) -> str:
        text = " ".join(self._redactor(text).split())
        return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"

    def redact(self, text: str) -> str:
        """``text`` with every form of any password this client has used replaced."""
        return self._redactor(text)

    async def aclose(self) -> None:
        """Close the CalDAV session."""
        await self._discard()
