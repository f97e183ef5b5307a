"""Inboxes domain."""
