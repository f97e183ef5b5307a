"""Messages domain."""
