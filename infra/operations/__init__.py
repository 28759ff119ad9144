"""The operations layer every front door calls: ``Operations`` and the models it answers with."""

from infra.operations.errors import ErrorAnswer, answer_for
from infra.operations.service import Operations, Queues

__all__ = ["ErrorAnswer", "Operations", "Queues", "answer_for"]
