"""Separating the new text of a reply from the history it quotes.

Both halves are kept; agents see the new text first. The rule of thumb is to cut only at
a clear marker: an attribution line ("On ... wrote:" in the languages we meet), an
"Original Message" separator, an Outlook header block ("From: ... Sent: ..."), or a run
of ">" lines that lasts to the end of the message. A forwarded message is not history:
what a customer forwards is the point of their mail, so "Forwarded message" markers are
never cut at. When the cut would leave nothing new, everything counts as new.
"""

from __future__ import annotations

import re

_VERBS = (
    r"wrote|writes|schrieb|a\s+écrit|escribió|escribio|schreef|escreveu|ha\s+scritto|"
    r"kirjoitti|skrev|napisał|napsal"
)
# "On Mon, 1 Jan 2024 at 10:00, Jane <jane@example.com> wrote:" and its translations:
# Am ... schrieb, Le ... a écrit :, El ... escribió:, Op ... schreef, Em ... escreveu:
_ATTRIBUTION = re.compile(
    rf"^\s*(on|am|le|el|op|em|il|den)\s.{{0,300}}?\b({_VERBS})\s*:\s*$", re.IGNORECASE
)
# Thunderbird and others: "Jane Doe <jane@example.com> wrote:" / "... schrieb am 1.1.2024:"
_SHORT_ATTRIBUTION = re.compile(rf"^\s*\S.{{0,200}}\b({_VERBS})(\s.{{0,80}})?\s*:\s*$", re.I)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original\s+message|ursprüngliche\s+nachricht|message\s+d'origine|"
    r"mensaje\s+original|oorspronkelijk\s+bericht|mensagem\s+original|"
    r"messaggio\s+originale)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(from|von|de|van|da)\s?:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|enviada|fecha|verzonden|verstuurd|"
    r"data|inviato|to|an|à|para|aan|a|subject|betreff|objet|asunto|onderwerp|assunto|"
    r"oggetto|cc)(\s(el|em|on|le))?\s?:",
    re.IGNORECASE,
)
_HEADER_SENT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|enviada|fecha|verzonden|verstuurd|"
    r"data|inviato)(\s(el|em|on|le))?\s?:",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*-{2,}\s*(forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|"
    r"mensaje\s+reenviado|doorgestuurd\s+bericht|mensagem\s+encaminhada)\s*-{2,}\s*$"
    r"|^\s*(begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht)\s*:",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{20,}\s*$")
_QUOTED = re.compile(r"^\s*>")


def _attribution_at(lines: list[str], index: int) -> int:
    """How many lines (1 to 3) the attribution starting at `index` spans; 0 if none.

    Clients wrap long attributions, so up to three lines are joined before matching.
    """
    for span in (1, 2, 3):
        if index + span > len(lines):
            break
        joined = " ".join(line.strip() for line in lines[index : index + span])
        if span > 1 and not lines[index + span - 1].strip():
            break
        if _ATTRIBUTION.match(joined):
            return span
    return 0


def _quote_follows(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _outlook_block(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()][:4]
    return any(_HEADER_SENT.match(line) for line in following) and all(
        _HEADER_NEXT.match(line) for line in following[:2]
    )


def _separator_cut(lines: list[str]) -> int | None:
    """Index of the first line of a history that runs to the end of the message.

    Separators, Outlook header blocks and attributions not followed by ">" lines.
    """
    for index, line in enumerate(lines):
        if _FORWARDED.match(line):
            return None  # what follows was forwarded on purpose: it is the new text
        if _ORIGINAL.match(line) or _outlook_block(lines, index):
            return index
        if _UNDERSCORES.match(line) and index + 1 < len(lines) and _outlook_block(lines, index + 1):
            return index
        span = _attribution_at(lines, index)
        if span and not _quote_follows(lines, index + span):
            return index
    return None


def _quoted_lines(lines: list[str]) -> set[int]:
    """Indexes of ">" lines and of the attribution lines that introduce them."""
    marked: set[int] = set()
    for index, line in enumerate(lines):
        if _QUOTED.match(line):
            marked.add(index)
            continue
        span = _attribution_at(lines, index) or (1 if _SHORT_ATTRIBUTION.match(line) else 0)
        if span and _quote_follows(lines, index + span):
            marked.update(range(index, index + span))
    return marked


def _joined(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def split_quoted(text: str) -> tuple[str, str]:
    """(new text, quoted history); quoted is "" when the message quotes nothing.

    Lines after a separator are history. Before it, ">" lines and their attribution are
    history wherever they are, so a bottom-posted or inline answer, and a signature after
    the quote, stay in the new text.
    """
    whole = text.strip("\n").rstrip()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _separator_cut(lines)
    head, tail = (lines, []) if cut is None else (lines[:cut], lines[cut:])
    marked = _quoted_lines(head)
    new = [line for index, line in enumerate(head) if index not in marked]
    quoted = [line for index, line in enumerate(head) if index in marked] + tail
    new_text, quoted_text = _joined(new), _joined(quoted)
    if not new_text.strip() or not quoted_text.strip():
        return whole, ""
    return new_text, quoted_text


# Where HTML clients put the history: Gmail, Apple Mail and Thunderbird, Outlook (desktop
# and web), Yahoo. Searched in the raw HTML, before sanitizing removes class and id.
_HTML_MARKERS = re.compile(
    r"<div[^>]*\bclass=[\"']?[^\"'>]*\bgmail_quote\b"
    r"|<blockquote[^>]*\btype=[\"']?cite\b"
    r"|<div[^>]*\bclass=[\"']?[^\"'>]*\bmoz-cite-prefix\b"
    r"|<div[^>]*\bid=[\"']?(appendonsend|divRplyFwdMsg|x_divRplyFwdMsg)\b"
    r"|<div[^>]*\bclass=[\"']?[^\"'>]*\byahoo_quoted\b",
    re.IGNORECASE,
)


def split_quoted_html(html: str) -> tuple[str, str] | None:
    """(new html, quoted html) at the first client quote marker; None when there is none.

    The halves are not balanced HTML; sanitizing or converting them to text repairs that.
    """
    match = _HTML_MARKERS.search(html)
    if match is None or not html[: match.start()].strip():
        return None
    return html[: match.start()], html[match.start() :]
