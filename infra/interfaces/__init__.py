"""Front doors over the operations layer: the HTTP API (``http``) and the MCP server (``mcp``).

Each parses a request, calls one ``infra.operations.Operations`` method and
shapes the answer; refusals are mapped by ``infra.operations.answer_for``.
"""
