"""Routing: a pure decision core (`routing/core/`) and a thin database driver."""
