"""The MIME message built for an agent reply, read back the way a mail client reads it."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage, MIMEPart
from pathlib import Path

import pytest

from app.ingest.types import OutboundAttachment, OutboundMessage, SenderIdentity
from channels.email.compose import (
    REFERENCES_LIMIT,
    compose,
    domain_of,
    make_message_id,
    tagged_subject,
    thread_message_ids,
)

MESSAGE_ID = "<relaydesk.7.0123456789abcdef@example.com>"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def outbound(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "message_id": 7,
        "ticket_id": 3,
        "ticket_number": 1042,
        "channel": "email",
        "inbox_id": 1,
        "recipient": SenderIdentity("email", "customer@example.org"),
        "subject": "Printer on fire",
        "text": "Hello,\nwe are on it.\n",
        "html": None,
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def build(message: OutboundMessage, *, from_name: str | None = "Acme Support") -> bytes:
    composed = compose(
        message,
        from_address="support@example.com",
        from_name=from_name,
        message_id_header=MESSAGE_ID,
        now=NOW,
    )
    return composed.as_bytes()


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(part: MIMEPart) -> str:
    """The decoded text with the wire's CRLF line ends read back as a client shows them."""
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


def header_block(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


# --- Message-ID -------------------------------------------------------------------------


def test_message_id_is_in_our_domain() -> None:
    assert make_message_id(message_id=12, domain="example.com", nonce="ab12") == (
        "<relaydesk.12.ab12@example.com>"
    )


@pytest.mark.parametrize(
    ("domain", "nonce"),
    [("exa mple.com", "ab"), ("example.com>", "ab"), ("example.com", "a@b"), ("", "ab")],
)
def test_message_id_refuses_what_would_break_the_header(domain: str, nonce: str) -> None:
    with pytest.raises(ValueError):
        make_message_id(message_id=1, domain=domain, nonce=nonce)


def test_domain_of_lowercases_and_idna_encodes() -> None:
    assert domain_of("Support@Example.COM") == "example.com"
    assert domain_of("hilfe@bücher.example") == "xn--bcher-kva.example"
    with pytest.raises(ValueError):
        domain_of("no-domain@")


# --- Subject ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer on fire", "Re: Printer on fire [#1042]"),
        ("Re: Printer on fire [#1042]", "Re: Printer on fire [#1042]"),
        ("RE: Printer on fire", "RE: Printer on fire [#1042]"),
        ("AW: Drucker brennt", "AW: Drucker brennt [#1042]"),
        ("sv: Skrivaren brinner", "sv: Skrivaren brinner [#1042]"),
        ("[#1042] Printer on fire", "Re: [#1042] Printer on fire"),
        ("Printer [#10420]", "Re: Printer [#10420] [#1042]"),
        ("Ready: the printer", "Re: Ready: the printer [#1042]"),
        ("", "Re: [#1042]"),
        ("Line one\r\nBcc: evil@example.net", "Re: Line one Bcc: evil@example.net [#1042]"),
    ],
)
def test_tagged_subject(subject: str, expected: str) -> None:
    assert tagged_subject(subject, 1042) == expected


def test_tagging_twice_changes_nothing() -> None:
    once = tagged_subject("Printer on fire", 1042)
    assert tagged_subject(once, 1042) == once


# --- Headers ----------------------------------------------------------------------------


def test_headers_of_a_first_reply() -> None:
    parsed = parse(build(outbound()))
    assert parsed["From"] == "Acme Support <support@example.com>"
    assert parsed["To"] == "customer@example.org"
    assert parsed["Subject"] == "Re: Printer on fire [#1042]"
    assert parsed["Message-ID"] == MESSAGE_ID
    assert parsed["Date"].datetime == NOW
    assert parsed["X-Relaydesk-Ticket"] == "1042"
    assert parsed["In-Reply-To"] is None
    assert parsed["References"] is None
    assert parsed["Auto-Submitted"] is None
    assert parsed["X-Auto-Response-Suppress"] is None


def test_threading_headers_skip_ids_that_are_not_message_ids() -> None:
    thread = ("<first@mail.example.org>", "1700000000:17", "wamid.HBg", "<second@mail.example.org>")
    parsed = parse(build(outbound(thread_external_ids=thread)))
    assert parsed["In-Reply-To"] == "<second@mail.example.org>"
    assert parsed["References"].split() == ["<first@mail.example.org>", "<second@mail.example.org>"]


def test_references_keep_the_first_and_the_latest() -> None:
    thread = tuple(f"<m{i}@mail.example.org>" for i in range(50))
    parsed = parse(build(outbound(thread_external_ids=thread)))
    references = parsed["References"].split()
    assert len(references) == REFERENCES_LIMIT
    assert references[0] == "<m0@mail.example.org>"
    assert references[1:] == list(thread[-(REFERENCES_LIMIT - 1) :])
    assert parsed["In-Reply-To"] == "<m49@mail.example.org>"


def test_long_message_ids_are_folded_not_encoded() -> None:
    long_id = "<" + "x" * 120 + "@mail.example.org>"
    data = build(outbound(thread_external_ids=("<a@mail.example.org>", long_id)))
    assert b"=?" not in header_block(data)
    parsed = parse(data)
    assert parsed["In-Reply-To"] == long_id
    assert parsed["References"].split() == ["<a@mail.example.org>", long_id]


def test_thread_message_ids_drop_repeats_and_keep_order() -> None:
    assert thread_message_ids(["<b@x>", " <a@x> ", "<b@x>", "<with space@x>", "plain"]) == [
        "<b@x>",
        "<a@x>",
    ]


def test_automated_mail_says_so() -> None:
    parsed = parse(build(outbound(automated=True)))
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"


def test_non_ascii_name_and_subject_are_encoded_words() -> None:
    data = build(outbound(subject="Grüße aus Köln — Drucker"), from_name="Kundendienst Müller")
    headers = header_block(data)
    headers.decode("ascii")  # nothing but ASCII on the wire
    assert b"=?utf-8?" in headers
    parsed = parse(data)
    assert parsed["Subject"] == "Re: Grüße aus Köln — Drucker [#1042]"
    (address,) = parsed["From"].addresses
    assert address.display_name == "Kundendienst Müller"
    assert address.addr_spec == "support@example.com"


def test_from_without_a_name() -> None:
    assert parse(build(outbound(), from_name=None))["From"] == "support@example.com"


def test_a_name_with_a_line_break_cannot_add_headers() -> None:
    parsed = parse(build(outbound(), from_name="Acme\r\nBcc: evil@example.net"))
    assert parsed["Bcc"] is None
    assert parsed["From"].addresses[0].display_name == "Acme Bcc: evil@example.net"


def test_a_broken_recipient_address_is_refused() -> None:
    bad = outbound(recipient=SenderIdentity("email", "customer@example.org\r\nBcc: x@y.z"))
    with pytest.raises(ValueError):
        build(bad)


# --- Body and attachments ---------------------------------------------------------------


def test_text_only() -> None:
    parsed = parse(build(outbound(text="Grüße\n")))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert text_of(parsed) == "Grüße\n"


def test_text_and_html_are_alternatives() -> None:
    parsed = parse(build(outbound(text="Grüße\n", html="<p>Grüße</p>\n")))
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert text_of(plain) == "Grüße\n"
    assert html.get_content_type() == "text/html"
    assert text_of(html) == "<p>Grüße</p>\n"


def test_bodies_are_7bit_clean() -> None:
    data = build(outbound(text="Grüße " * 400, html="<p>" + "ü" * 2000 + "</p>"))
    data.decode("ascii")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


def test_attachments_round_trip_byte_exact(tmp_path: Path) -> None:
    blob = bytes(range(256)) * 40
    text = "naïve\r\nline\n".encode()
    (tmp_path / "a").write_bytes(blob)
    (tmp_path / "b").write_bytes(text)
    attachments = (
        OutboundAttachment("Übersicht März 2026.pdf", "application/pdf", str(tmp_path / "a")),
        OutboundAttachment("notes.txt", "text/plain; charset=utf-8", str(tmp_path / "b")),
    )
    parsed = parse(build(outbound(html="<p>Hi</p>", attachments=attachments)))
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("html", "plain"))
    assert body is not None
    assert body.get_content_type() == "text/html"
    first, second = parsed.iter_attachments()
    assert first.get_filename() == "Übersicht März 2026.pdf"
    assert first.get_content_type() == "application/pdf"
    assert first.get_payload(decode=True) == blob
    assert second.get_filename() == "notes.txt"
    assert second.get_content_type() == "text/plain"
    assert second.get_payload(decode=True) == text


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/PNG", "image/png"),
        ("nonsense", "application/octet-stream"),
        ("message/rfc822", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_attachment_content_types(tmp_path: Path, content_type: str, expected: str) -> None:
    (tmp_path / "f").write_bytes(b"Subject: hi\r\n\r\nbody\r\n")
    attachment = OutboundAttachment("f.bin", content_type, str(tmp_path / "f"))
    (part,) = parse(build(outbound(attachments=(attachment,)))).iter_attachments()
    assert part.get_content_type() == expected
    assert part.get_payload(decode=True) == b"Subject: hi\r\n\r\nbody\r\n"


def test_attachment_names_lose_paths_and_line_breaks(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    attachment = OutboundAttachment("../../etc/pass\r\nwd", "text/plain", str(tmp_path / "f"))
    (part,) = parse(build(outbound(attachments=(attachment,)))).iter_attachments()
    assert part.get_filename() == "_.._etc_pass wd"


def test_a_missing_attachment_file_raises(tmp_path: Path) -> None:
    attachment = OutboundAttachment("gone.pdf", "application/pdf", str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError):
        build(outbound(attachments=(attachment,)))
