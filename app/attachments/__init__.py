"""Attachments domain."""
