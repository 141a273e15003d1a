"""Photos and documents: storing uploads and describing them as Telegram does.

For a photo Telegram reads its size in pixels and keeps it in several sizes. Here only
the image headers are parsed (PNG, JPEG, GIF and WebP), which is enough to build the
``PhotoSize`` list Telegram answers with, without an imaging library.
"""

from __future__ import annotations

import mimetypes
import struct
from pathlib import PurePosixPath

from .errors import bad_request
from .state import JSON, BotState, StoredFile

# Telegram keeps a photo in several sizes; these are the longest sides it scales to.
PHOTO_SIDES = (90, 320, 800, 1280)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP image, or None if it is not one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # Start-of-frame markers carry the size; C4, C8 and CC share the range but do not.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def scaled_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of each size Telegram keeps of a photo, smallest first."""
    longest = max(width, height, 1)
    sizes = [
        (max(1, round(width * side / longest)), max(1, round(height * side / longest)))
        for side in PHOTO_SIDES
        if side < longest
    ]
    # Photos larger than the biggest side are stored scaled down to it, not in full.
    if longest <= PHOTO_SIDES[-1]:
        sizes.append((width, height))
    return sizes


_EXTENSIONS = {b"\x89PNG": ".png", b"GIF8": ".gif", b"RIFF": ".webp"}


def store_photo(bot: BotState, data: bytes) -> list[JSON]:
    """Store an image as a photo and return its ``PhotoSize`` list, smallest first.

    Every size serves the uploaded bytes: nothing is actually scaled.
    Raises Telegram's IMAGE_PROCESS_FAILED when the bytes are not an image.
    """
    size = image_size(data)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    extension = _EXTENSIONS.get(data[:4], ".jpg")
    photo = []
    stored_sizes = []
    for width, height in scaled_sizes(*size):
        stored = bot.store_file(data, "photo", extension, mime_type=_mime(extension))
        stored_sizes.append(stored)
        photo.append(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(data),
                "width": width,
                "height": height,
            }
        )
    for stored in stored_sizes:
        stored.photo_sizes = photo
    return photo


def store_document(
    bot: BotState, data: bytes, file_name: str | None, mime_type: str | None
) -> JSON:
    """Store a file as a document and return its ``Document`` object."""
    if not mime_type or mime_type == "application/octet-stream":
        mime_type = mimetypes.guess_type(file_name or "")[0] or mime_type
    extension = PurePosixPath(file_name or "").suffix
    stored = bot.store_file(data, "document", extension, mime_type=mime_type, file_name=file_name)
    return document_json(stored)


def document_json(stored: StoredFile) -> JSON:
    document: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document


def _mime(extension: str) -> str:
    return {".png": "image/png", ".gif": "image/gif", ".webp": "image/webp"}.get(
        extension, "image/jpeg"
    )
