"""``event-importer integration new NAME``: writes a working integration and wires it everywhere."""

from infra.scaffold.writer import IntegrationNames, ScaffoldError, scaffold

__all__ = ["IntegrationNames", "ScaffoldError", "scaffold"]
