"""TicketFairy's commands, under ``event-importer ticketfairy``.

The operations reach these commands through the CLI's context object (an
``integrations.operations.CommandHost``), so this module imports no infra.
"""

from __future__ import annotations

from integrations.front_doors.cli import submit_url_app

app = submit_url_app("ticketfairy", "TicketFairy")
