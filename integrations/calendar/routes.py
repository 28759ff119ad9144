"""The calendar's HTTP routes, mounted by the API under ``/integrations/calendar``.

``POST /integrations/calendar/submit`` submits one event by its source URL through
the calendar's queue (or, with ``dry_run``, answers the exact payload).
"""

from __future__ import annotations

from integrations.front_doors.routes import submit_by_url_router

router = submit_by_url_router("calendar", "the calendar")
