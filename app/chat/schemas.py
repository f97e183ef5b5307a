from __future__ import annotations

from typing import Annotated, Any

import msgspec

from app.schemas import Input, Output

PublicKey = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class WidgetSessionCreate(Input):
    """`identity`: the site's signed-in user, `{"user_id", "email", "name", "hmac"}`, the
    HMAC computed by the site's backend (ignored unless valid). `pre_chat`: the answers to
    the inbox's pre-chat form, by field name."""

    inbox: PublicKey
    token: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    # Checked by the service, which names the bad field.
    identity: Any = None
    pre_chat: Any = None


class WidgetConversationOut(Output):
    ticket_id: int
    last_seq: int


class WidgetSessionOut(Output):
    """Keep `token` in the browser: sending it again continues this visitor."""

    token: str
    conversation: WidgetConversationOut | None
    verified: bool


class WidgetColorsOut(Output):
    accent: str
    accent_text: str


class WidgetPreChatFieldOut(Output):
    name: str
    label: str
    type: str
    required: bool


class WidgetAttachmentLimitsOut(Output):
    max_bytes: int
    types: list[str]


class WidgetConfigOut(Output):
    inbox: str
    name: str
    colors: WidgetColorsOut
    greeting: str
    locale: str
    pre_chat_fields: list[WidgetPreChatFieldOut]
    attachments: WidgetAttachmentLimitsOut
    # An agent is available now; otherwise show `offline_text` (the message still opens a
    # ticket).
    online: bool
    offline_text: str
    identity_verification: bool


class WidgetUploadOut(Output):
    """Send `id` in the next message's `attachment_ids`."""

    id: int
    filename: str
    content_type: str
    size: int
