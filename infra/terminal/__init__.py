"""What the CLI shows people: tables that fit the terminal, progress, one-line summaries and errors."""

from infra.terminal.errors import Failure, failure_for
from infra.terminal.output import Output
from infra.terminal.tables import Column, fit_widths, middle_truncate

__all__ = ["Column", "Failure", "Output", "failure_for", "fit_widths", "middle_truncate"]
