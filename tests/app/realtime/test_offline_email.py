"""An agent's chat reply reaches a visitor who left by email, once; a visitor who is
there (their socket got the reply) gets no email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message as EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq import Retry
from sqlalchemy import select

from app.attachments.storage import AttachmentStore
from app.chat.jobs import email_offline_visitor
from app.config import StorageSettings
from app.db.engine import SessionMaker, transaction
from app.inboxes.models import Inbox
from app.messages.models import Message
from app.outbox.jobs import jobs_for
from app.outbox.service import MESSAGE_CREATED
from app.security.crypto import SecretBox
from channels.email.smtp import SmtpSender
from tests.app.realtime.support import (
    make_admin_token,
    make_chat_inbox,
    peer,
    visitor_session,
    ws_url,
)
from tests.conftest import SECRET_KEY
from tests.servers.smtp import SmtpServer

INVOICE = b"%PDF-1.4\n% an invoice\n%%EOF\n"


async def _reply(
    http: httpx.AsyncClient, token: str, ticket_id: int, body: str, *, attachment_ids: list[int]
) -> int:
    response = await http.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": body, "attachment_ids": attachment_ids},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    message_id: int = response.json()["id"]
    return message_id


async def _status(sessionmaker: SessionMaker, message_id: int) -> tuple[str, dict[str, Any]]:
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(Message.status, Message.channel_data).where(Message.id == message_id)
            )
        ).one()
    return row[0], row[1]


def _ctx(sessionmaker: SessionMaker, *, later: timedelta, data_dir: Path) -> dict[str, Any]:
    """A job context whose clock reads `later` after now (the grace period passed), reading
    uploads where the live server stored them."""
    return {
        "sessionmaker": sessionmaker,
        "clock": lambda: datetime.now(UTC) + later,
        "senders": {"email": SmtpSender()},
        "secret_box": SecretBox(SECRET_KEY),
        "attachment_store": AttachmentStore(StorageSettings(data_dir=data_dir)),
    }


async def test_a_reply_to_a_visitor_who_left_is_emailed_once(
    server: str, live_sessionmaker: SessionMaker, server_data_dir: Path
) -> None:
    _, token = await make_admin_token(live_sessionmaker, name="Grace")
    with SmtpServer() as smtp:
        async with transaction(live_sessionmaker) as session:
            mail = Inbox(
                name="Support mail",
                channel="email",
                settings={
                    "address": "support@shop.test",
                    "smtp_host": smtp.host,
                    "smtp_port": smtp.port,
                    "smtp_security": "none",
                },
            )
            session.add(mail)
            await session.flush()
            mail_id = mail.id
        async with httpx.AsyncClient(base_url=server) as http:
            inbox = await make_chat_inbox(
                http, token, reply_email_inbox_id=mail_id, email_after_seconds=60
            )
            bad = await http.patch(
                f"/api/v1/inboxes/{inbox['id']}",
                json={"settings": {"reply_email_inbox_id": "mail", "email_after_seconds": 1}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert bad.status_code == 422
            assert sorted(e["field"] for e in bad.json()["errors"]) == [
                "settings.email_after_seconds",
                "settings.reply_email_inbox_id",
            ]
            session = await visitor_session(
                http, inbox["public_key"], pre_chat={"name": "Kim", "email": "Kim@Customer.test"}
            )
            async with peer(ws_url(server, "/ws/widget", session["token"])) as visitor:
                await visitor.expect("hello")
                await visitor.send(type="message.send", client_id="c1", body="My order?")
                ticket_id = (await visitor.expect("message.ack"))["ticket_id"]
                there = await _reply(http, token, ticket_id, "Looking now", attachment_ids=[])
                await visitor.expect("message.status", message_id=there, status="delivered")
            # The visitor closed the page; the next reply, with an invoice, has nobody to reach.
            upload = await http.post(
                "/api/v1/attachments",
                files={"file": ("invoice.pdf", INVOICE, "application/pdf")},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert upload.status_code == 201, upload.text
            away = await _reply(
                http,
                token,
                ticket_id,
                "It ships tomorrow.\nThanks for waiting",
                attachment_ids=[upload.json()["id"]],
            )

        # The outbox relay enqueues the job for every agent reply.
        payload = {"message_id": away, "direction": "outbound", "internal": False,
                   "status": "sent", "author_type": "agent"}  # fmt: skip
        assert ("email_offline_visitor", {"message_id": away}) in jobs_for(MESSAGE_CREATED, payload)

        # Within the grace period the job waits for the visitor to come back.
        waiting = _ctx(live_sessionmaker, later=timedelta(), data_dir=server_data_dir)
        with pytest.raises(Retry):
            await email_offline_visitor(waiting, message_id=away)
        assert smtp.messages == []
        after_grace = _ctx(live_sessionmaker, later=timedelta(minutes=2), data_dir=server_data_dir)
        assert await email_offline_visitor(after_grace, message_id=there) == "seen"
        assert await email_offline_visitor(after_grace, message_id=away) == "emailed"
        # A retried or duplicated job sends nothing more.
        assert await email_offline_visitor(after_grace, message_id=away) == "already emailed"

    [sent] = smtp.messages
    assert sent.rcpt_tos == ("kim@customer.test",)
    email: EmailMessage = message_from_bytes(sent.content)
    assert email["From"].endswith("<support@shop.test>") or "support@shop.test" in email["From"]
    assert email["Subject"].startswith("Re: ")
    # The reply's text, and its file as an attachment with its name, type and bytes.
    parts = [part for part in email.walk() if not part.is_multipart()]
    text = next(part for part in parts if part.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Grace answered your chat" in body
    assert "It ships tomorrow." in body
    [invoice] = [part for part in parts if part.get_filename() == "invoice.pdf"]
    assert invoice.get_content_type() == "application/pdf"
    assert invoice.get_payload(decode=True) == INVOICE
    status, data = await _status(live_sessionmaker, away)
    assert status == "sent"
    assert data["email_copy"]["outcome"] == "sent"
    assert data["email_copy"]["to"] == "kim@customer.test"
    assert email["Message-ID"] == data["email_copy"]["external_id"]
