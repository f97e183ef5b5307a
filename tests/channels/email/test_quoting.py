"""split_quoted: the new text of a reply apart from the history it quotes."""

from __future__ import annotations

import pytest

from channels.email.quoting import split_quoted, split_quoted_html


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 4 Mar 2024 at 10:12, Support <support@relaydesk.example> wrote:",
        "Am Mo., 4. März 2024 um 10:12 Uhr schrieb Support <support@relaydesk.example>:",
        "Le lun. 4 mars 2024 à 10:12, Support <support@relaydesk.example> a écrit :",
        "El lun, 4 mar 2024 a las 10:12, Support (<support@relaydesk.example>) escribió:",
        "Op ma 4 mrt. 2024 om 10:12 schreef Support <support@relaydesk.example>:",
        "Em seg., 4 de mar. de 2024 às 10:12, Support <support@relaydesk.example> escreveu:",
        "On 4 Mar 2024, at 10:12, Support <support@relaydesk.example> wrote:",  # Apple Mail
    ],
)
def test_attribution_lines_in_several_languages(attribution: str) -> None:
    text = f"Thanks, that fixed it.\n\n{attribution}\n> Please restart the app.\n> Support\n"

    new, quoted = split_quoted(text)

    assert new == "Thanks, that fixed it."
    assert quoted == f"{attribution}\n> Please restart the app.\n> Support"


def test_attribution_wrapped_over_two_lines_and_not_followed_by_quote_marks() -> None:
    text = (
        "Yes please.\n\nOn Mon, Mar 4, 2024 at 10:12 AM Relaydesk Support <\n"
        "support@relaydesk.example> wrote:\n\nWould you like a refund?\n"
    )

    new, quoted = split_quoted(text)

    assert new == "Yes please."
    assert quoted.startswith("On Mon, Mar 4, 2024 at 10:12 AM")
    assert quoted.endswith("Would you like a refund?")


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
    ],
)
def test_original_message_separators(separator: str) -> None:
    text = f"See below.\n\n{separator}\nFrom: Support\nSent: Monday\n\nOld text\n"

    new, quoted = split_quoted(text)

    assert new == "See below."
    assert quoted.startswith(separator)
    assert quoted.endswith("Old text")


@pytest.mark.parametrize(
    ("from_line", "sent_line", "to_line"),
    [
        (
            "From: Support <support@relaydesk.example>",
            "Sent: Monday, March 4, 2024 10:12",
            "To: Kim",
        ),
        ("Von: Support <support@relaydesk.example>", "Gesendet: Montag, 4. März 2024", "An: Kim"),
        ("De : Support", "Envoyé : lundi 4 mars 2024 10:12", "À : Kim"),
        ("De: Support", "Enviado el: lunes, 4 de marzo de 2024", "Para: Kim"),
        ("*From:* Support", "*Sent:* Monday", "*To:* Kim"),
    ],
)
def test_outlook_header_blocks(from_line: str, sent_line: str, to_line: str) -> None:
    text = f"Done, thanks.\n\n{from_line}\n{sent_line}\n{to_line}\nSubject: Ticket\n\nOld\n"

    new, quoted = split_quoted(text)

    assert new == "Done, thanks."
    assert quoted.startswith(from_line)


def test_a_from_line_alone_is_not_a_header_block() -> None:
    text = "From: the kitchen, we can see the garden.\nIt is lovely.\n"

    assert split_quoted(text) == (text.rstrip(), "")


def test_bottom_posted_reply_with_signature_after_the_quote() -> None:
    text = (
        "Jane Doe <jane@example.com> wrote:\n"
        "> Is the refund through?\n"
        "\n"
        "Yes, it went out today.\n"
        "\n"
        "-- \n"
        "Kim, Support\n"
    )

    new, quoted = split_quoted(text)

    assert new == "Yes, it went out today.\n\n-- \nKim, Support"
    assert quoted == "Jane Doe <jane@example.com> wrote:\n> Is the refund through?"


def test_inline_answers_are_new_text() -> None:
    text = "> First question?\nFirst answer.\n> Second question?\nSecond answer.\n"

    new, quoted = split_quoted(text)

    assert new == "First answer.\nSecond answer."
    assert quoted == "> First question?\n> Second question?"


def test_signature_stays_with_new_text_before_the_history() -> None:
    text = "Short answer.\n-- \nJane\n\nOn Mon, 4 Mar 2024, Support wrote:\n> Question\n"

    new, quoted = split_quoted(text)

    assert new == "Short answer.\n-- \nJane"
    assert quoted == "On Mon, 4 Mar 2024, Support wrote:\n> Question"


def test_forwarded_message_is_not_history() -> None:
    text = (
        "Please look at this.\n\n---------- Forwarded message ---------\n"
        "From: Shop <shop@example.net>\nDate: Mon, 4 Mar 2024\nSubject: Order\n\nShipped.\n"
    )

    new, quoted = split_quoted(text)

    assert quoted == ""
    assert new == text.rstrip()


def test_nothing_quoted_and_all_quoted() -> None:
    assert split_quoted("Hello\n\nThanks\n") == ("Hello\n\nThanks", "")
    assert split_quoted("> only a quote\n> nothing new\n") == (
        "> only a quote\n> nothing new",
        "",
    )
    assert split_quoted("") == ("", "")


def test_crlf_line_endings() -> None:
    new, quoted = split_quoted("New\r\n\r\nOn Mon, 4 Mar 2024, X wrote:\r\n> Old\r\n")

    assert (new, quoted) == ("New", "On Mon, 4 Mar 2024, X wrote:\n> Old")


@pytest.mark.parametrize(
    "marker",
    [
        '<div class="gmail_quote">',
        '<blockquote type="cite">',
        '<div class="moz-cite-prefix">',
        '<div id="appendonsend"></div>',
        '<div id="divRplyFwdMsg" dir="ltr">',
        '<div class="yahoo_quoted">',
    ],
)
def test_html_quote_markers(marker: str) -> None:
    html = f"<p>New answer</p>{marker}<p>Old text</p></div>"

    halves = split_quoted_html(html)

    assert halves == ("<p>New answer</p>", f"{marker}<p>Old text</p></div>")


def test_html_without_marker_or_with_nothing_before_it() -> None:
    assert split_quoted_html("<p>Hello</p>") is None
    assert split_quoted_html('<blockquote type="cite">only quote</blockquote>') is None


def test_apple_forward_is_not_history() -> None:
    text = "FYI\n\nBegin forwarded message:\n\nFrom: Shop\nDate: Monday\nTo: Jane\n\nShipped.\n"

    assert split_quoted(text) == (text.rstrip(), "")
