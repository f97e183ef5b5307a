"""The contacts service, as a package so it can split by sub-domain; callers import from here."""

from __future__ import annotations

from app.contacts.service.contacts import (
    EMAIL_PATTERN,
    MIN_PHONE_DIGITS,
    PHONE_KINDS,
    PHONE_QUERY,
    PROFILE,
    access_live_contact,
    check_addresses_free,
    check_identity,
    check_not_merged,
    check_time_zone,
    contact_out,
    do_create_contact,
    do_delete_contact,
    do_merge_contacts,
    do_update_contact,
    get_contact,
    list_account_contacts,
    list_contacts,
    with_identities,
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
    "do_merge_contacts",
    "do_update_contact",
    "get_contact",
    "list_account_contacts",
    "list_contacts",
    "with_identities",
]
