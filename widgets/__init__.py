"""The embeddable chat widget: static assets, loader and configuration endpoint."""
