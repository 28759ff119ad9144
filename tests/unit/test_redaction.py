"""Secrets are redacted in every form a destination or a library can echo them in."""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from integrations.redaction import REDACTED, RedactingFilter, Redactor

KEY = "tf_live/9f8e+7d6c=5b4a"


@pytest.mark.parametrize(
    "echo",
    [
        KEY,
        quote(KEY, safe=""),
        quote(KEY, safe="").lower(),
        quote_plus(KEY),
        json.dumps(KEY)[1:-1],
        KEY[:8],
        KEY[:15],
        quote(KEY, safe="")[:11],
    ],
    ids=[
        "exact",
        "url-encoded",
        "url-encoded-lower-hex",
        "form-encoded",
        "json-escaped",
        "prefix-8",
        "prefix-15",
        "encoded-prefix",
    ],
)
def test_every_form_of_the_key_is_redacted(echo: str) -> None:
    text = f"the API said: token={echo}; try again"
    assert Redactor([KEY])(text) == f"the API said: token={REDACTED}; try again"


def test_fragments_shorter_than_eight_characters_are_left_alone() -> None:
    assert Redactor([KEY])("tf_live is seven, tf_live_x too") == "tf_live is seven, tf_live_x too"


def test_every_occurrence_of_every_key_is_redacted() -> None:
    redactor = Redactor([KEY])
    redactor.add("second-key-0123456789")
    text = f"{KEY} and {KEY[:9]}X and second-key-0123 and {KEY}"
    assert redactor(text) == f"{REDACTED} and {REDACTED}X and {REDACTED} and {REDACTED}"


def test_a_key_too_short_to_hide_is_not_used_to_mangle_text() -> None:
    assert Redactor(["k"])("keep every k") == "keep every k"
    assert not Redactor(["k"])


def test_the_log_filter_redacts_messages_arguments_extras_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s|%(detail)s"))
    handler.addFilter(RedactingFilter(Redactor([KEY])))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"server echoed {quote(KEY, safe='')}")
        except ValueError:
            logger.exception("call failed for %s", KEY[:10], extra={"detail": f"body={KEY}"})
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "call failed for [redacted]" in output
    assert "body=[redacted]" in output
    assert "server echoed [redacted]" in output  # the traceback
    for form in (KEY, quote(KEY, safe=""), KEY[:8]):
        assert form not in output


@pytest.mark.parametrize("wire_logs", [False, True])
def test_wire_loggers_reach_debug_only_when_wire_logs_are_asked_for(wire_logs: bool) -> None:
    from infra.runtime.logs import WIRE_LOGGERS, secure_logging

    names = ["", *WIRE_LOGGERS]
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        for name in WIRE_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger().setLevel(logging.DEBUG)  # as AWS_LAMBDA_LOG_LEVEL=DEBUG sets it

        secure_logging(wire_logs=wire_logs)

        assert logging.getLogger("botocore.parsers").isEnabledFor(logging.DEBUG) is wire_logs
        assert logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.DEBUG) is wire_logs
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
