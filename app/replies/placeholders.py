"""Placeholders in canned replies and macro replies: `{{contact.first_name}}`,
`{{agent.name}}`, `{{ticket.number}}` and a few more, each with an optional fallback for
an empty value (`{{contact.first_name | there}}`). Unknown names are refused when the text
is saved, so a typo never reaches a customer as `{{contact.frist_name}}`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.errors import ValidationFailed

PLACEHOLDER = re.compile(r"\{\{\s*([a-z]+\.[a-z_]+)\s*(?:\|\s*([^{}]*?)\s*)?\}\}")
NAMES = (
    "contact.name", "contact.first_name", "contact.email",
    "agent.name", "agent.first_name", "agent.email",
    "ticket.number", "ticket.subject",
)  # fmt: skip


def check_placeholders(text: str, *, field: str) -> None:
    unknown = sorted({m[1] for m in PLACEHOLDER.finditer(text) if m[1] not in NAMES})
    if unknown:
        raise ValidationFailed.field(
            field, f"unknown placeholder {', '.join(unknown)} (known: {', '.join(NAMES)})"
        )


def first_name(name: str | None) -> str:
    return name.split()[0] if name and name.strip() else ""


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each placeholder replaced by its value, or its fallback when empty."""
    return PLACEHOLDER.sub(lambda m: values.get(m[1]) or (m[2] or ""), text)
