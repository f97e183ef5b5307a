"""Contacts: the people who write in, their addresses on each channel, and merging two of them.

`contacts` holds the profile and its addresses, `search` the list endpoint's lookups and
`merge` the two ways a contact goes away (delete, merge). Import from this package, which
re-exports them.
"""

from __future__ import annotations

from app.contacts.service.contacts import (
    EMAIL_PATTERN,
    PHONE_KINDS,
    PROFILE,
    access_live_contact,
    check_addresses_free,
    check_identity,
    check_not_merged,
    check_time_zone,
    contact_out,
    do_create_contact,
    do_update_contact,
    get_contact,
    with_identities,
)
from app.contacts.service.merge import do_delete_contact
from app.contacts.service.search import (
    MIN_PHONE_DIGITS,
    PHONE_QUERY,
    list_account_contacts,
    list_contacts,
)

__all__ = [
    "EMAIL_PATTERN",
    "MIN_PHONE_DIGITS",
    "PHONE_KINDS",
    "PHONE_QUERY",
    "PROFILE",
    "access_live_contact",
    "check_addresses_free",
    "check_identity",
    "check_not_merged",
    "check_time_zone",
    "contact_out",
    "do_create_contact",
    "do_delete_contact",
    "do_update_contact",
    "get_contact",
    "list_account_contacts",
    "list_contacts",
    "with_identities",
]
