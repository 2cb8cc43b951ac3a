"""Outgoing mail through an outbox: queued in the request's transaction, sent after commit."""
