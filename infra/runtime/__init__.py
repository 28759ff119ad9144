"""Per-function wiring, built once per Lambda container at the first invocation.

One module per function (``fanout``, ``submit``, ``operations`` for replay and api) so that each function
imports only what it uses.  Reading settings lazily (not at import) keeps
handlers importable by tests and tools; the cache is what makes it "once".
"""

from __future__ import annotations


def reset() -> None:
    """Forget the cached wiring of every function (tests, or after a settings change)."""
    from infra.pipeline.metrics import metrics
    from infra.runtime.fanout import fanout_service
    from infra.runtime.operations import operations
    from infra.runtime.submit import submit_worker

    fanout_service.cache_clear()
    submit_worker.cache_clear()
    operations.cache_clear()
    # The wiring sets the integration as the process's metric dimension: the next wiring sets its own.
    metrics.clear_default_dimensions()
    metrics.clear_metrics()
