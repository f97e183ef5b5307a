"""Channel adapters: parse provider input into `app.ingest.types.InboundMessage` and send
`OutboundMessage`s. One sub-package per channel family (email, chat, social)."""
