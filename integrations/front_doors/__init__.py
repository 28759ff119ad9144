"""What every integration's front doors share: "submit one event by its source URL" as an HTTP route,
a command and an MCP tool, built for an integration by name.

Each builder lives in the module of its front door's framework (Powertools' router, typer, plain
dicts for MCP), so a Lambda function that mounts routes never imports typer.
"""
