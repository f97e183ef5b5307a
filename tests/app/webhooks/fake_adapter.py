"""A webhook adapter in the shape of Telegram's Bot API, for testing the routing around it.

Telegram sends the `secret_token` given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`
and numbers each delivery with `update_id`
(https://core.telegram.org/bots/api#setwebhook, #update). The real adapter comes with the
social channels; this one records what it was asked, so tests can prove that nothing reads
a body before its signature passed.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from app.ingest.receive import ReceivePolicy, Skip
from app.ingest.types import InboundMessage, SenderIdentity, ThreadHints
from app.ingest.webhooks import InboxContext, WebhookRejected, WebhookReply, WebhookRequest

SECRET_HEADER = "x-telegram-bot-api-secret-token"


class FakeTelegram:
    content_type = "application/json"

    def __init__(self) -> None:
        self.read_bodies: list[bytes] = []

    def handshake(self, request: WebhookRequest, inbox: InboxContext) -> WebhookReply:
        if request.query.get("verify_token") != inbox.secrets.get("verify_token"):
            raise WebhookRejected("the verify token is wrong")
        return WebhookReply(body=request.query.get("challenge", "").encode())

    def verify(self, request: WebhookRequest, inbox: InboxContext) -> None:
        sent = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(sent, str(inbox.secrets["webhook_secret"]).encode()):
            raise WebhookRejected("the secret token header is missing or wrong")

    def delivery_key(self, request: WebhookRequest) -> str | None:
        self.read_bodies.append(request.body)
        update_id = json.loads(request.body).get("update_id")
        return f"update:{update_id}" if update_id is not None else None

    def parse(
        self, body: bytes, meta: Mapping[str, Any], inbox: InboxContext
    ) -> Sequence[InboundMessage] | Skip:
        self.read_bodies.append(body)
        update = json.loads(body)
        if "edited_message" in update:
            return Skip("ignored", "an edit of a message we have")
        message = update["message"]
        return [
            InboundMessage(
                channel="telegram",
                inbox_id=inbox.inbox_id,
                sender=(SenderIdentity("telegram", str(message["from"]["id"])),),
                sender_name=message["from"].get("first_name"),
                external_id=f"{message['chat']['id']}:{message['message_id']}",
                text=message.get("text", ""),
                thread=ThreadHints(continue_open_conversation=True),
                automated=bool(update.get("auto_reply")),
                auto_reply=bool(update.get("auto_reply")),
            )
        ]

    def policy(self, inbox: InboxContext) -> ReceivePolicy:
        return ReceivePolicy(rate_limit_messages=int(inbox.settings.get("rate_limit", 20)))


def update(update_id: int, text: str = "Hello", *, user: int = 42, **extra: Any) -> bytes:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id * 10,
                "from": {"id": user, "first_name": "Ada"},
                "chat": {"id": user},
                "text": text,
            },
            **extra,
        }
    ).encode()
