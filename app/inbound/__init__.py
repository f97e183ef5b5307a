"""The raw inbound store: every payload a provider delivers, kept before it is processed."""
