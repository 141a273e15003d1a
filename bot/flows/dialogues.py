"""Dialogue state in the database: which step a user is at and what they have drafted.

One open dialogue per user. Kept in storage, not in process memory, so a
restart or another worker process picks it up where it was.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Dialogue
from storage.types import utcnow


async def current(session: AsyncSession, telegram_id: int) -> Dialogue | None:
    """The user's open dialogue, locked until the transaction ends: a step reads it and
    writes it back, and two presses handled by two processes take their turns (the
    second finds what the first left, e.g. no draft after a Submit)."""
    return await session.get(Dialogue, telegram_id, with_for_update=True, populate_existing=True)


async def start(session: AsyncSession, telegram_id: int, kind: str, **data: Any) -> Dialogue:
    """Open a dialogue of ``kind``, replacing whatever the user had open."""
    dialogue = await session.get(Dialogue, telegram_id)
    if dialogue is None:
        dialogue = Dialogue(telegram_id=telegram_id, kind=kind, data=data)
        session.add(dialogue)
    else:
        dialogue.kind, dialogue.data, dialogue.updated_at = kind, data, utcnow()
    return dialogue


async def finish(session: AsyncSession, telegram_id: int) -> None:
    await session.exec(delete(Dialogue).where(col(Dialogue.telegram_id) == telegram_id))
