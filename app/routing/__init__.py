"""Routing's side of the domain: its tables, its admin API and the port the driver fills.

The decisions themselves are made by `routing.core` and applied by `routing.driver`
(wired in at the composition root); this package stores what they need and record."""
