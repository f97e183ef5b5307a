"""Customer HTML is hostile input: sanitize at ingest and on every agent-authored body.

Allowed: formatting tags and links. Removed: scripts, event handlers, `style` (CSS
expressions), `javascript:` and other unknown URL schemes, and remote resources (images
loaded from other hosts track the reader) unless the caller allows them.
"""

from __future__ import annotations

import html as html_lib
import re

import nh3

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "*": {"dir", "lang"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
LOCAL_RESOURCE_PREFIXES = ("cid:", "/api/v1/attachments/")


def sanitize_html(value: str, *, allow_remote_images: bool = False) -> str:
    def keep_attribute(tag: str, attribute: str, url: str) -> str | None:
        if tag == "img" and attribute == "src":
            if url.startswith(LOCAL_RESOURCE_PREFIXES):
                return url
            return url if allow_remote_images and url.startswith("https://") else None
        return url

    return nh3.clean(
        value,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=keep_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANKS = re.compile(r"\n{3,}")


def text_from_html(value: str) -> str:
    """Plain text for a body that only came as HTML (search, notifications, previews)."""
    cleaned = nh3.clean(
        value,
        tags={"p", "div", "li", "tr", "br", "blockquote", "pre"} | {f"h{i}" for i in range(1, 7)},
    )
    text = _TAG.sub("", _BLOCK_END.sub("\n", cleaned))
    return _BLANKS.sub("\n\n", html_lib.unescape(text)).strip()
