"""Test data for the sandbox tests: tokens, users and images made on the spot."""

from __future__ import annotations

import base64
import struct
import zlib

from sandbox import user

TOKEN = "123456789:sandbox-test-token"
OTHER_TOKEN = "987654321:another-test-token"
ALICE = user(1001, "Alice", username="alice")
BOB = user(1002, "Bob", language_code="en")
GROUP = {"id": -100123, "type": "supergroup", "title": "Building 3"}


def png(width: int = 2, height: int = 1) -> bytes:
    """A valid black PNG image of the given size, built without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" * (width + 1) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_b64(width: int = 2, height: int = 1) -> str:
    return base64.b64encode(png(width, height)).decode()
