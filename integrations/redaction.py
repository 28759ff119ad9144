"""Keeping secrets out of everything that is written down: errors, records and logs.

A destination can echo a key back in many shapes: whole, URL-encoded (a key
in a query string), JSON-escaped, or cut short by an excerpt limit.  A
``Redactor`` replaces each of them, and any prefix of at least
``MIN_SECRET_PREFIX`` characters of each, with ``[redacted]``.

Secrets are registered once when they are read (``register_secret``); the
``RedactingFilter`` then scrubs every log record that passes a handler it is
attached to, whichever library logged it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MIN_SECRET_PREFIX", "REDACTED", "RedactingFilter", "Redactor", "redact", "register_secret"]

REDACTED = "[redacted]"
#: Shorter fragments of a key are not treated as the key: they would match ordinary text.
MIN_SECRET_PREFIX = 8
# A "secret" shorter than this (a test's "k") is not redacted at all: it would erase every
# occurrence of that letter from every log line, and it protects nothing.
_MIN_SECRET_LENGTH = 4
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _forms(secret: str) -> set[str]:
    """The shapes ``secret`` can take in text a destination or a library writes."""
    encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    encoded |= {_PERCENT_ESCAPE.sub(lambda match: match.group().lower(), form) for form in encoded}
    return {secret, json.dumps(secret)[1:-1], *encoded}


def _match_end(text: str, start: int, form: str) -> int:
    """Where the longest prefix of ``form`` (at least its first ``MIN_SECRET_PREFIX`` characters) at ``start`` ends."""
    if not text.startswith(form[:MIN_SECRET_PREFIX], start):
        return start
    end = start + min(len(form), MIN_SECRET_PREFIX)
    # Extend the match as far as the text keeps following the secret.
    while end < len(text) and end - start < len(form) and text[end] == form[end - start]:
        end += 1
    return end


class Redactor:
    """Replaces every form of the secrets it holds; safe to share between threads."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: tuple[str, ...] = ()
        self._heads: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Redact ``secret`` (in all its forms) from now on."""
        secret = secret.strip()
        if len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            forms = tuple(sorted({*self._forms, *_forms(secret)}))
            heads = sorted({form[:MIN_SECRET_PREFIX] for form in forms}, key=len, reverse=True)
            self._forms, self._heads = forms, re.compile("|".join(map(re.escape, heads)))

    def __call__(self, text: str) -> str:
        forms, heads = self._forms, self._heads
        if heads is None:
            return text
        parts: list[str] = []
        done = 0
        # One pass; at each place a secret starts, the longest matching form wins (an encoded
        # form and the plain one share their first characters).
        while match := heads.search(text, done):
            start = match.start()
            end = max(_match_end(text, start, form) for form in forms)
            parts += [text[done:start], REDACTED]
            done = max(end, start + 1)
        parts.append(text[done:])
        return "".join(parts)

    def __bool__(self) -> bool:
        return bool(self._forms)


#: Every secret this process has read, for the log filter.
_PROCESS_SECRETS = Redactor()


def register_secret(secret: str) -> None:
    """Redact ``secret`` from every log record that passes a ``RedactingFilter`` in this process."""
    _PROCESS_SECRETS.add(secret)


def redact(text: str) -> str:
    """``text`` without any secret registered in this process."""
    return _PROCESS_SECRETS(text)


_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from a log record: its message, extra fields and traceback.

    Attach it to handlers (a logger's own filters do not see records that
    propagate from other loggers).  It never drops a record.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or _PROCESS_SECRETS

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactor:
            return True
        message = record.getMessage()
        clean = self.redactor(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks quote exception messages: render now, redact, and keep only the text.
            trace = logging.Formatter().formatException(record.exc_info)
            if self.redactor(trace) != trace:
                clean = f"{clean}\n{self.redactor(trace)}"
                record.exc_info = None
                record.exc_text = None
        if clean != message:  # untouched otherwise: a structured (dict) message stays one
            record.msg, record.args = clean, ()
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, self.redactor(value))
        return True
