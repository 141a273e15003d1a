"""Evidence of an answer brought in by staff: a photo or scan of the signed form.

From the chat the photo stays with Telegram and the ballot keeps its file id;
from the shell the file is copied into the evidence folder under a name made
of its content, so the same scan stored twice is one file. What a file is,
is read from its first bytes, never from its name.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from bot.flows.consultation import ConsultationError

SIGNATURES = (
    (b"\xff\xd8\xff", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
    (b"%PDF-", ".pdf"),
)
ACCEPTED_TYPES = ("image/", "application/pdf")  # as Telegram reports a document's type


def kind_of(head: bytes) -> str | None:
    """The file's suffix by its content (an image or a PDF), or None."""
    for signature, suffix in SIGNATURES:
        if head.startswith(signature):
            return suffix
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return None


def check_upload(mime_type: str | None, size: int | None, max_kb: int) -> None:
    """A photo or document sent in the chat: an image or a PDF, within the size limit."""
    if mime_type is not None and not mime_type.startswith(ACCEPTED_TYPES):
        raise ConsultationError("offline.evidence_not_image")
    if size is not None and size > max_kb * 1024:
        raise ConsultationError("offline.evidence_too_large", limit=max_kb)


def check(source: Path, max_kb: int) -> str:
    """Refuse an evidence file that is missing, too large, or not an image or a PDF; the
    name it will be stored under."""
    if not source.is_file():
        raise ConsultationError("offline.evidence_missing", file=str(source))
    if source.stat().st_size > max_kb * 1024:
        raise ConsultationError("offline.evidence_too_large", limit=max_kb)
    content = source.read_bytes()
    suffix = kind_of(content[:16])
    if suffix is None:
        raise ConsultationError("offline.evidence_not_image")
    return hashlib.sha256(content).hexdigest()[:32] + suffix


def store(source: Path, folder: Path, max_kb: int) -> str:
    """Copy an evidence file into ``folder``; the reference a ballot keeps ("file:<name>")."""
    name = check(source, max_kb)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / name).exists():
        shutil.copyfile(source, folder / name)
    return f"file:{name}"
