"""The local runtime's helpers: shipped sample events and a stand-in TicketFairy destination."""
