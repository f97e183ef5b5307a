"""Knowledge base and help center, with the search port and its backends."""
