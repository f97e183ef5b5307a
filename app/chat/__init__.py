"""Live chat's domain side: widget visitors, their signed tokens and sessions, the public
widget config, and the conversations a visitor may reach.

The channel adapter (`channels/chat/`) reads and validates the inbox's settings and checks
a site's identity claims; it implements `app.chat.port.ChatChannel`, which the composition
root passes in. The sockets live in `app/realtime/`.
"""
