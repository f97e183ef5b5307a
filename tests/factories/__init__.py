"""Small async factories per domain; each flushes and returns the row it made."""
