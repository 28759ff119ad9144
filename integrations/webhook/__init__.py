"""Webhook: every event version as a signed Standard Webhooks delivery to one endpoint."""
