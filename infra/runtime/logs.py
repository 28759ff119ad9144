"""Log hygiene for functions: no wire logs unless asked for, and no secret in any log line.

botocore logs whole HTTP exchanges at DEBUG, and an SSM ``GetParameter``
answer carries the decrypted key; urllib3 logs every request line.  A function
whose log level is raised for debugging (``POWERTOOLS_LOG_LEVEL=DEBUG``, or
Lambda's own ``AWS_LAMBDA_LOG_LEVEL``) must not start printing those: only the
separate ``WIRE_LOGS`` setting lets them through.
"""

from __future__ import annotations

import logging

from integrations.redaction import RedactingFilter

#: Libraries that log request and response bodies (or credentials) at DEBUG.
WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "httpcore", "httpx")


def secure_logging(*, wire_logs: bool = False) -> None:
    """Cap the wire loggers at INFO (unless ``wire_logs``) and redact secrets on every handler there is.

    Call once per process after the function's logger is set up; idempotent.
    """
    if not wire_logs:
        for name in WIRE_LOGGERS:
            wire = logging.getLogger(name)
            wire.setLevel(max(wire.getEffectiveLevel(), logging.INFO))
    loggers = [logging.getLogger(), *(item for item in logging.root.manager.loggerDict.values())]
    for logger in loggers:
        if not isinstance(logger, logging.Logger):
            continue  # a placeholder for a logger nobody created
        for handler in logger.handlers:
            if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
                handler.addFilter(RedactingFilter())
