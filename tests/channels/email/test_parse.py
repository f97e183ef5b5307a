# ruff: noqa: RUF001 - Cyrillic letters and dashes are the point of the charset tests
"""parse_email over real .eml fixtures, CPython's own email test corpus, and random bytes."""

from __future__ import annotations

import importlib.util
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.ingest.types import ThreadHints
from channels.email import EmailParseError, ParsedEmail, parse_email, thread_hints

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> ParsedEmail:
    return parse_email((SAMPLES / name).read_bytes())


def test_iso_8859_1_alternative_reply() -> None:
    parsed = sample("alternative_latin1.eml")

    assert parsed.message_id == "<CAF1234.5678@mail.example.fr>"
    assert parsed.subject == "Re: [#1042] Facture impayée"
    assert parsed.from_address == "helene.dupre@example.fr"
    assert parsed.from_name == "Hélène Dupré"
    assert parsed.reply_to == "helene+billing@example.fr"
    assert parsed.to == ("support@relaydesk.example",)
    assert parsed.cc == ("compta@example.fr", "bjorn@example.se")
    assert parsed.date == datetime(2024, 3, 4, 10, 30, tzinfo=UTC)
    assert parsed.date is not None
    assert parsed.date.utcoffset() == timedelta(hours=1)
    assert parsed.in_reply_to == ("<relaydesk.77.abc@relaydesk.example>",)
    assert parsed.references == (
        "<first@relaydesk.example>",
        "<relaydesk.77.abc@relaydesk.example>",
    )
    assert parsed.ticket_number == 1042
    assert "La facture n'est pas arrivée. Où est-elle ?" in parsed.text
    assert parsed.html is not None
    assert "Où est-elle" in parsed.html
    assert parsed.new_text.endswith("-- \nHélène Dupré")  # the signature stays with new text
    assert parsed.quoted_text.startswith("Le lun. 4 mars 2024 à 10:12")
    assert "> Votre facture est en route." in parsed.quoted_text
    assert parsed.auto_submitted is False
    assert parsed.bounce is None
    assert parsed.attachments == ()
    assert parsed.headers["From"] == "Hélène Dupré <Helene.Dupre@Example.FR>"
    assert parsed.headers["Cc"] == "compta@example.fr, Björn <BJORN@example.se>"


def test_thread_hints_nearest_first_without_duplicates() -> None:
    hints = thread_hints(sample("alternative_latin1.eml"))

    assert hints == ThreadHints(
        replies_to=("<relaydesk.77.abc@relaydesk.example>", "<first@relaydesk.example>"),
        ticket_number=1042,
    )


def test_shift_jis_bodies_and_iso_2022_jp_subject() -> None:
    parsed = sample("shift_jis.eml")

    assert parsed.subject == "配送について"
    assert parsed.from_name == "山田太郎"
    assert parsed.text == "お世話になっております。\n注文番号 12345 の配送状況を教えてください。"
    assert parsed.html == (
        "<p>お世話になっております。</p><p>注文番号 12345 の配送状況を教えてください。</p>"
    )
    assert parsed.date is not None
    assert parsed.date.utcoffset() == timedelta(hours=9)


def test_koi8_r_body_and_a_utf8_name_split_across_encoded_words() -> None:
    parsed = sample("koi8r.eml")

    assert parsed.subject == "Не работает вход"
    # The first encoded word ends in the middle of "в": both halves must join first.
    assert parsed.from_name == "Иван Петров"
    assert parsed.text == "Здравствуйте! Не могу войти в личный кабинет."
    assert parsed.html is None


def test_rfc2231_and_rfc2047_filenames_are_decoded_and_stripped_of_paths() -> None:
    parsed = sample("rfc2231_attachments.eml")

    assert parsed.text == "See attached."
    names = [(a.filename, a.content_type, a.inline) for a in parsed.attachments]
    assert names == [
        ("résumé — final.pdf", "application/pdf", False),
        ("Übersicht.txt", "text/plain", False),
        ("passwd", "application/octet-stream", False),
        ("attachment-4.bin", "application/octet-stream", False),
    ]
    assert parsed.attachments[0].data == b"%PDF-1.4\n% fake\n"
    assert parsed.attachments[1].data.strip() == b"plain attachment"
    assert all("/" not in a.filename and "\\" not in a.filename for a in parsed.attachments)


def test_inline_image_keeps_its_cid_reference() -> None:
    parsed = sample("inline_image.eml")

    assert parsed.html == '<p>Here is the error: <img src="cid:error.png@01DA7000" alt="error"></p>'
    inline, unused = parsed.attachments
    assert (inline.filename, inline.content_type) == ("error.png", "image/png")
    assert inline.content_id == "error.png@01DA7000"
    assert inline.inline is True
    assert inline.data.startswith(b"\x89PNG")
    # Not referenced by the HTML: listed with the attachments rather than hidden.
    assert unused.content_id == "unused@01DA7000"
    assert unused.inline is False


def test_forwarded_message_is_kept_as_an_eml_attachment() -> None:
    parsed = sample("forwarded.eml")

    assert parsed.text == "This arrived, but the parcel did not."
    (forwarded,) = parsed.attachments
    assert forwarded.filename == "Your order has shipped.eml"
    assert forwarded.content_type == "message/rfc822"
    inner = parse_email(forwarded.data)
    assert inner.message_id == "<order-99@example.net>"
    assert inner.text == "Order 99 is on its way."


def test_winmail_dat_is_kept_as_tnef() -> None:
    parsed = sample("winmail.eml")

    assert parsed.text == "Please see the attachment."
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("winmail.dat", "application/ms-tnef"),
        ("WINMAIL.DAT", "application/ms-tnef"),  # sent as octet-stream, recognised by name
    ]
    assert parsed.attachments[0].data.startswith(b"\x78\x9f\x3e\x22")


def test_html_only_mail_derives_text_and_splits_gmail_quote() -> None:
    parsed = sample("html_only_gmail_reply.eml")

    assert parsed.text.startswith("It works now, thank you!\nJane")
    assert "Try the link again." in parsed.text
    assert parsed.new_text == "It works now, thank you!\nJane"
    assert parsed.quoted_text.startswith("On Sat, Mar 9, 2024 at 11:00 AM Support")
    assert "Try the link again." in parsed.quoted_text
    assert parsed.html is not None
    assert "gmail_quote" not in parsed.html
    assert parsed.ticket_number == 2001


def test_hostile_html_is_sanitized() -> None:
    parsed = sample("hostile_html.eml")

    html = parsed.html
    assert html is not None
    lowered = html.lower()
    for forbidden in (
        "<script", "document.cookie", "onload", "onerror", "javascript:", "expression(",
        "tracker.example", "<style", "<iframe", "<svg", "<form", "style=",
    ):  # fmt: skip
        assert forbidden not in lowered, forbidden
    assert '<a href="https://example.com/ok"' in html
    assert '<img src="cid:logo@example">' in html
    assert "<b>agent</b>" in html
    assert "document" not in parsed.text
    assert parsed.subject == "<script>alert(1)</script>"  # plain text: escaped where shown


def test_outlook_reply_splits_at_the_header_block() -> None:
    parsed = sample("outlook_reply.eml")

    assert parsed.text.startswith("Thanks – received it.")  # windows-1252 en dash
    assert parsed.new_text == "Thanks – received it.\n\nKim"
    assert parsed.quoted_text.startswith("________________________________\nFrom: Support")
    assert thread_hints(parsed).replies_to == ("<relaydesk.90.abc@relaydesk.example>",)


def test_malformed_headers_and_truncated_multipart_are_recovered() -> None:
    parsed = sample("malformed.eml")

    assert parsed.from_address is None
    assert parsed.from_name is None
    assert parsed.date is None
    assert parsed.message_id == "<not-bracketed@example.com>"
    assert parsed.references == ("<a@x>", "<b@x>")
    assert parsed.to == ("support@relaydesk.example",)
    # The valid encoded word and the 8-bit bytes decode; the broken words stay as written.
    assert "café" in parsed.subject
    assert "été" in parsed.subject
    assert parsed.subject.startswith("=?utf-8?q?broken")
    # Garbage base64 in an unknown charset, and a part whose closing boundary never came.
    assert parsed.text.startswith("Hello world")
    assert "ends here without a closing boundary" in parsed.text
    for value in (parsed.subject, parsed.text, *parsed.headers.values()):
        value.encode("utf-8")  # no lone surrogates
        assert "\x00" not in value


def test_missing_message_id_gets_a_stable_synthetic_id() -> None:
    raw = (SAMPLES / "no_message_id.eml").read_bytes()

    first, second = parse_email(raw), parse_email(bytes(raw))

    assert first.message_id == second.message_id
    assert first.message_id.startswith("<sha256-")
    assert first.message_id.endswith("@relaydesk.invalid>")
    assert parse_email(raw + b"\n").message_id != first.message_id
    assert first.date is None
    assert "Message-ID" not in first.headers


def test_an_overlong_message_id_is_hashed_to_fit_the_column() -> None:
    raw = b"From: a@example.com\nMessage-ID: <" + b"x" * 2000 + b"@example.com>\n\nhi\n"

    parsed = parse_email(raw)

    assert parsed.message_id.startswith("<sha256-id-")
    assert len(parsed.message_id) < 998
    assert parse_email(raw).message_id == parsed.message_id


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Re: [#1042] Refund", 1042),
        ("AW: AW: [#7] x [#8]", 7),
        ("Order #1042", None),
        ("[1042]", None),
        ("[#99999999999999999999]", None),  # beyond BIGINT: not a ticket of ours
    ],
)
def test_ticket_tag(subject: str, number: int | None) -> None:
    parsed = parse_email(f"From: a@example.com\nSubject: {subject}\n\nhi\n".encode())

    assert parsed.ticket_number == number


def test_charset_fallbacks() -> None:
    raw = (
        b"From: a@example.com\nSubject: =?x-unknown?q?caf=E9?=\n"
        b"Content-Type: text/plain; charset=us-ascii\n\nna\xefve caf\xe9\n"
    )

    parsed = parse_email(raw)

    assert parsed.subject == "café"
    assert parsed.text == "naïve café"  # mislabeled 8-bit read as windows-1252


def test_utf7_and_mislabelled_utf8_bodies() -> None:
    utf7 = b"From: a@example.com\nContent-Type: text/plain; charset=utf-7\n\nHi Mom -+Jjo--!\n"
    mislabeled = (
        b"From: a@example.com\nContent-Type: text/plain; charset=iso-8859-1\n\n"
        + "Grüße".encode()
        + b"\n"
    )

    assert parse_email(utf7).text == "Hi Mom -☺-!"
    # Valid UTF-8 declared as Latin-1 decodes as declared (we cannot know better).
    assert parse_email(mislabeled).text == "GrÃ¼ÃŸe"


def test_date_without_zone_is_taken_as_utc() -> None:
    raw = b"From: a@example.com\nDate: Mon, 4 Mar 2024 10:00:00 -0000\n\nhi\n"

    assert parse_email(raw).date == datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    offset = parse_email(b"From: a@example.com\nDate: 4 Mar 2024 10:00 +0530\n\nhi\n").date
    assert offset == datetime(2024, 3, 4, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\x89PNG\r\n\x1a\n\x00\x00", b"just text"])
def test_input_without_headers_raises_email_parse_error(raw: bytes) -> None:
    with pytest.raises(EmailParseError):
        parse_email(raw)


def test_deep_nesting_and_many_parts_are_bounded() -> None:
    deep = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for level in range(2000):
        deep += b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (level, level + 1)
    many = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n" + (
        b"--x\nContent-Type: application/octet-stream\n\nAAAA\n" * 20000
    )

    assert parse_email(deep).from_address == "a@example.com"
    assert len(parse_email(many).attachments) <= 500


def test_huge_address_lists_and_nested_comments() -> None:
    addresses = b", ".join(b"user%d@example.com" % i for i in range(5000))
    raw = b"From: " + b"(" * 20000 + b"a@example.com\nTo: " + addresses + b"\n\nhi\n"

    parsed = parse_email(raw)

    assert len(parsed.to) == 5000
    assert parsed.to[0] == "user0@example.com"


def _cpython_email_data() -> Path | None:
    """CPython's test_email/data: from the interpreter's own test package when installed."""
    spec = importlib.util.find_spec("test")  # the stdlib's test package is optional
    locations = spec.submodule_search_locations if spec is not None else None
    candidates = [Path(location) / "test_email" / "data" for location in locations or ()]
    candidates += [
        Path("/root/.pyenv/versions/3.11.7/lib/python3.11/test/test_email/data"),
        *Path("/usr/lib").glob("python3*/test/test_email/data"),
    ]
    return next((path for path in candidates if path.is_dir()), None)


CPYTHON_DATA = _cpython_email_data()


@pytest.mark.skipif(CPYTHON_DATA is None, reason="CPython's test_email data is not installed")
def test_cpython_email_test_data_never_raises() -> None:
    assert CPYTHON_DATA is not None
    files = sorted(path for path in CPYTHON_DATA.iterdir() if path.is_file())
    assert len(files) > 40
    parsed = 0
    for path in files:
        try:
            result = parse_email(path.read_bytes())
        except EmailParseError:
            continue
        parsed += 1
        result.text.encode("utf-8")
        result.subject.encode("utf-8")
    assert parsed >= 45  # the msg_*.txt messages; images and sounds have no headers


def _mutations(rng: random.Random, seeds: list[bytes]) -> list[bytes]:
    cases = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) for _ in range(150)]
    for _ in range(350):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 12)):
            operation = rng.randrange(4)
            position = rng.randrange(len(data) + 1)
            if operation == 0 and data:
                del data[position : position + rng.randrange(1, 200)]
            elif operation == 1:
                data[position:position] = bytes(rng.randrange(256) for _ in range(8))
            elif operation == 2:
                snippet = rng.choice(
                    [b"=?", b"?=", b"\r\n--", b"boundary=", b"\n\n", b"=?utf-8?b?", b"charset=",
                     b"(", b"<", b">", b'"', b";", b"*0*=", b"%", b"\x00", b"\xff"]
                )  # fmt: skip
                data[position:position] = snippet
            else:
                data = data[:position]
        cases.append(bytes(data))
    return cases


def test_random_and_mutated_bytes_never_raise_anything_else() -> None:
    rng = random.Random(20240304)
    seeds = [path.read_bytes() for path in sorted(SAMPLES.glob("*.eml"))]
    for case in _mutations(rng, seeds):
        try:
            parsed = parse_email(case)
        except EmailParseError:
            continue
        for value in (parsed.subject, parsed.text, parsed.new_text, parsed.html or ""):
            value.encode("utf-8")
            assert "\x00" not in value
        thread_hints(parsed)


def test_a_named_only_text_part_is_still_the_body() -> None:
    raw = b'From: a@example.com\nContent-Type: text/plain; name="body.txt"\n\nThe body.\n'

    parsed = parse_email(raw)

    assert parsed.text == "The body."
    assert parsed.attachments == ()


def test_empty_text_alternative_falls_back_to_the_html() -> None:
    raw = (
        b'From: a@example.com\nContent-Type: multipart/alternative; boundary="A"\n\n'
        b"--A\nContent-Type: text/plain\n\n\n--A\nContent-Type: text/html\n\n"
        b'<p>New</p><blockquote type="cite"><p>Old</p></blockquote>\n--A--\n'
    )

    parsed = parse_email(raw)

    assert parsed.text == "New\nOld"
    assert (parsed.new_text, parsed.quoted_text) == ("New", "Old")


@pytest.mark.parametrize("value", ["<>", "", "   ", "two words", "<<a@b>", "a@b>"])
def test_unusable_message_ids_fall_back_to_the_synthetic_id(value: str) -> None:
    raw = f"From: a@example.com\nMessage-ID: {value}\n\nhi\n".encode()

    parsed = parse_email(raw)

    if value in {"<<a@b>", "a@b>"}:
        assert parsed.message_id == "<a@b>"
    else:
        assert parsed.message_id.startswith("<sha256-")


def test_an_rfc2231_charset_on_an_8bit_body_is_read() -> None:
    """The stdlib's compat32 `get_payload()` raises TypeError on this; the body still counts."""
    raw = (
        b"From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset*=us-ascii''utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n"
    )
    assert parse_email(raw).text == "Grüße"


def test_either_tree_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clean mail is read from the fast compat32 tree, damaged mail from the modern one; the
    helpers must give the same answers on both (addresses, parameters, bodies)."""
    raws = [sample.read_bytes() for sample in sorted(SAMPLES.glob("*.eml"))]
    fast = [parse_email(raw) for raw in raws]
    monkeypatch.setattr("channels.email.parse._is_clean", lambda msg, raw: False)
    assert [parse_email(raw) for raw in raws] == fast
