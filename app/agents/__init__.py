"""Agents domain."""
