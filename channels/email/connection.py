"""The connection test an admin runs before connecting a mailbox: sign in to its IMAP
server and open the folder, then sign in to its SMTP server, and say which step failed and
what the server said (never the password). Nothing is fetched and nothing is sent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiosmtplib

from channels.email.imap import ImapConfig, ImapError, ImapMailbox
from channels.email.settings import EmailInboxSettings, read_email_settings
from channels.email.smtp import classify

STEP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    step: str  # "imap" or "smtp"
    ok: bool
    detail: str


async def _imap(settings: EmailInboxSettings) -> Check:
    config = ImapConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        security=settings.imap_security,
        username=settings.imap_username,
        password=settings.imap_password,
        folder=settings.imap_folder,
        timeout=STEP_TIMEOUT,
    )
    where = f"{settings.imap_host}:{settings.imap_port}"
    try:
        async with asyncio.timeout(STEP_TIMEOUT), ImapMailbox(config):
            pass  # open() connects, signs in and selects the folder
    except TimeoutError:
        return Check("imap", False, f"IMAP server {where} did not answer within {STEP_TIMEOUT:g} s")
    except ImapError as exc:
        return Check("imap", False, str(exc))
    return Check("imap", True, f"signed in to {where} as {settings.imap_username}, "
                 f"folder {settings.imap_folder} opened")  # fmt: skip


async def _smtp(settings: EmailInboxSettings) -> Check:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_security == "ssl",
        start_tls=settings.smtp_security == "starttls",
        timeout=STEP_TIMEOUT,
    )
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            await client.connect()
            if settings.smtp_username is not None:
                await client.login(settings.smtp_username, settings.smtp_password or "")
            await client.quit()
    except TimeoutError:
        return Check("smtp", False, f"SMTP server {where} did not answer within {STEP_TIMEOUT:g} s")
    except (aiosmtplib.SMTPException, OSError) as exc:
        reason, _ = classify(exc)
        if settings.smtp_password:
            reason = reason.replace(settings.smtp_password, "***")
        return Check("smtp", False, f"SMTP server {where}: {reason}")
    finally:
        client.close()
    signed_in = f" as {settings.smtp_username}" if settings.smtp_username else ""
    return Check("smtp", True, f"connected to {where}{signed_in}")


async def check_email_connection(values: dict[str, Any]) -> list[Check]:
    """Both steps, each reported; settings that cannot work at all raise
    `ValidationFailed` naming the fields first."""
    settings = read_email_settings(values)
    return [await _imap(settings), await _smtp(settings)]
