"""Auto-replies, bulk mail and bounces: recorded, never answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.email import Bounce, parse_email

SAMPLES = Path(__file__).parent / "samples"


def message(*headers: str, body: str = "Hello") -> bytes:
    return ("\r\n".join(["From: jane@example.com", *headers, "", body]) + "\r\n").encode()


def test_exchange_out_of_office() -> None:
    parsed = parse_email((SAMPLES / "out_of_office.eml").read_bytes())

    assert parsed.auto_submitted is True
    assert parsed.bounce is None
    assert parsed.ticket_number == 1042  # still threads onto the ticket, as a record


def test_bulk_newsletter() -> None:
    parsed = parse_email((SAMPLES / "newsletter_bulk.eml").read_bytes())

    assert parsed.auto_submitted is True


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: Auto-Replied (vacation)",
        "Auto-Submitted: auto-notified; owner-email=x@example.com",
        "Precedence: bulk",
        "Precedence: JUNK",
        "Precedence: list",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "X-Auto-Response-Suppress: All",
        "X-Auto-Response-Suppress: DR, OOF, AutoReply",
    ],
)
def test_automated_headers(header: str) -> None:
    assert parse_email(message(header, "Subject: Hi")).auto_submitted is True


@pytest.mark.parametrize(
    "headers",
    [
        (),
        ("Auto-Submitted: no",),
        ("Auto-Submitted: No (a person)",),
        ("Precedence: first-class",),
        ("X-Autoreply: no",),
        ("List-Id: <support.example.com>",),  # a Google Group forwarding support mail
        ("X-Auto-Response-Suppress: DR, RN",),
    ],
)
def test_person_mail_is_not_automated(headers: tuple[str, ...]) -> None:
    assert parse_email(message(*headers, "Subject: Hi")).auto_submitted is False


@pytest.mark.parametrize(
    ("headers", "auto_reply"),
    [
        (("Auto-Submitted: auto-replied", "Subject: Hi"), True),
        (("Auto-Submitted: Auto-Replied (vacation)", "Subject: Hi"), True),
        (("Precedence: auto_reply", "Subject: Hi"), True),
        (("X-Autoreply: yes", "Subject: Hi"), True),
        (("X-Auto-Response-Suppress: All", "Subject: Automatic reply: Hi"), True),
        # Machine mail that is no answer: an alert, a form mailer, a newsletter.
        (("Auto-Submitted: auto-generated", "Subject: Disk full on db1"), False),
        (("Auto-Submitted: auto-notified", "Subject: New form entry"), False),
        (("Precedence: bulk", "Subject: March news"), False),
        (("X-Auto-Response-Suppress: All", "Subject: Your invoice"), False),
        (("Subject: Out of office",), False),
    ],
)
def test_auto_replies_are_told_from_other_machine_mail(
    headers: tuple[str, ...], auto_reply: bool
) -> None:
    assert parse_email(message(*headers)).auto_reply is auto_reply


def test_a_bounce_is_no_auto_reply() -> None:
    parsed = parse_email((SAMPLES / "dsn_bounce.eml").read_bytes())

    assert parsed.bounce is not None
    assert parsed.auto_reply is False


def test_out_of_office_subject_alone_is_not_automated() -> None:
    assert parse_email(message("Subject: Out of office")).auto_submitted is False
    assert parse_email(message("Subject: Automatic reply: Hi")).auto_submitted is False


def test_out_of_office_subject_counts_together_with_a_weak_header() -> None:
    weak = "X-MS-Exchange-Inbox-Rules-Loop: jane@example.com"

    assert parse_email(message(weak, "Subject: Automatic reply: Hi")).auto_submitted is True
    assert parse_email(message(weak, "Subject: Question")).auto_submitted is False


def test_rfc3464_bounce() -> None:
    parsed = parse_email((SAMPLES / "dsn_bounce.eml").read_bytes())

    assert parsed.bounce == Bounce(
        original_message_id="<relaydesk.77.abc@relaydesk.example>",
        recipient="nobody@example.org",
        status="5.1.1",
        diagnostic="smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
        permanent=True,
    )
    assert parsed.auto_submitted is True
    names = [a.filename for a in parsed.attachments]
    assert names == ["delivery-status.txt", "original-headers.txt"]
    assert b"Final-Recipient: rfc822; nobody@example.org" in parsed.attachments[0].data


def _dsn(action: str, status: str, original: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\r\n"
        "Subject: Delivery Status Notification\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nReport.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; Someone@Example.org\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"\r\n--B\r\n{original}--B--\r\n"
    ).encode()


def test_delayed_report_is_a_transient_bounce_with_the_original_from_message_rfc822() -> None:
    original = (
        "Content-Type: message/rfc822\r\n\r\n"
        "From: support@relaydesk.example\r\nMessage-ID: <relaydesk.5.n@relaydesk.example>\r\n"
        "Subject: x\r\n\r\nbody\r\n"
    )

    bounce = parse_email(_dsn("delayed", "4.4.1", original)).bounce

    assert bounce == Bounce(
        original_message_id="<relaydesk.5.n@relaydesk.example>",
        recipient="someone@example.org",
        status="4.4.1",
        diagnostic=None,
        permanent=False,
    )


def test_success_report_is_not_a_bounce_but_is_automated() -> None:
    parsed = parse_email(_dsn("delivered", "2.0.0", "Content-Type: text/plain\r\n\r\nx\r\n"))

    assert parsed.bounce is None


def test_free_form_mailer_daemon_bounce_quoting_the_original_headers() -> None:
    parsed = parse_email((SAMPLES / "qmail_bounce.eml").read_bytes())

    assert parsed.bounce == Bounce(
        original_message_id="<relaydesk.78.abc@relaydesk.example>",
        recipient="gone@example.net",
        status="5.1.1",
        diagnostic=None,
        permanent=True,
    )
    assert parsed.auto_submitted is True


def test_a_person_writing_about_undelivered_mail_is_not_a_bounce() -> None:
    raw = message(
        "Subject: Undelivered Mail Returned to Sender",
        body="My mail bounced.\r\nMessage-ID: <relaydesk.9.n@relaydesk.example>",
    )

    parsed = parse_email(raw)

    assert parsed.bounce is None
    assert parsed.auto_submitted is False
