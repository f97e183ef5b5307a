"""Email inbox state kept by the domain: raw messages as received, mailbox positions.

The transport and parsing live in `channels/email/`; these tables are what makes import
durable and exactly-once whatever happens to the worker or the mail server.
"""
