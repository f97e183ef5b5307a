"""Attachment bytes live under the data dir, addressed by SHA-256: identical files are
stored once, and a row can never point at content that changed under it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path

from app.config import StorageSettings
from app.errors import ValidationFailed

SAFE_INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)


class AttachmentStore:
    def __init__(self, settings: StorageSettings) -> None:
        self.root = settings.data_dir / "attachments"
        self.max_bytes = settings.max_attachment_bytes
        self.allowed_types = frozenset(settings.allowed_attachment_types)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def check(self, *, size: int, content_type: str, field: str = "file") -> None:
        if size > self.max_bytes:
            raise ValidationFailed.field(field, f"is {size} bytes; the limit is {self.max_bytes}")
        if self.allowed_types and content_type not in self.allowed_types:
            raise ValidationFailed.field(field, f"type {content_type} is not allowed here")

    async def save(self, data: bytes) -> str:
        """Store the bytes (once) and return their SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, sha256, data)
        return sha256

    def _write(self, sha256: str, data: bytes) -> None:
        path = self.path_for(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)  # atomic: readers never see a partial file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def safe_content_type(content_type: str) -> str:
    """Serve only types a browser cannot turn into script; the rest download as bytes."""
    return content_type if content_type in SAFE_INLINE_TYPES else "application/octet-stream"


def safe_filename(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip().strip(".")
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*')
    return name[:255] or "attachment"
