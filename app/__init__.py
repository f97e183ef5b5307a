"""Relaydesk: omnichannel customer-support and ticketing server."""
