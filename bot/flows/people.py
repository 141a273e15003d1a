"""The people who write to the bot: their row, their language, redelivered updates."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import GroupChat, Mute, ProcessedUpdate, SkippedUpdate, User
from storage.upsert import insert_if_absent


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """True the first time an update id is seen, False when Telegram delivers it again."""
    return await insert_if_absent(session, ProcessedUpdate, update_id=update_id)


async def skip_update(
    session: AsyncSession, update_id: int, reason: str, payload: dict, tries: int = 1
) -> None:
    """Keep an update given up on, and why; its claim is the caller's."""
    await insert_if_absent(
        session,
        SkippedUpdate,
        update_id=update_id,
        reason=reason[:300],
        tries=tries,
        payload=payload,
    )


async def skipped_updates(session: AsyncSession, limit: int) -> list[SkippedUpdate]:
    """The updates given up on most recently, newest first."""
    statement = select(SkippedUpdate).order_by(col(SkippedUpdate.skipped_at).desc()).limit(limit)
    return list(await session.exec(statement))


async def first_time_in_group(session: AsyncSession, chat_id: int) -> bool:
    """True only the first time the bot hears from a group chat."""
    return await insert_if_absent(session, GroupChat, chat_id=chat_id)


async def meet(
    session: AsyncSession, telegram_id: int, first_name: str, telegram_language: str | None
) -> User:
    """The user's row, created on first contact and kept current.

    Writing to the bot also shows the user has not blocked it (any more).
    """
    user = await session.get(User, telegram_id)
    if user is None:  # first contact; read first, as almost every update is from someone known
        await insert_if_absent(session, User, telegram_id=telegram_id)
        user = (await session.exec(select(User).where(User.telegram_id == telegram_id))).one()
    current = {
        "first_name": first_name.replace("\x00", "")[:200],  # PostgreSQL cannot store NUL
        "telegram_language": (telegram_language or "")[:20] or None,
        "unreachable_since": None,
    }
    for name, value in current.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
    return user


async def choose_language(session: AsyncSession, telegram_id: int, language: str) -> None:
    user = await session.get(User, telegram_id)
    if user is not None:
        user.language = language


async def muted_kinds(session: AsyncSession, telegram_id: int) -> set[str]:
    return set(await session.exec(select(Mute.kind).where(Mute.telegram_id == telegram_id)))


async def set_muted(session: AsyncSession, telegram_id: int, kind: str, muted: bool) -> None:
    """Mute or unmute a kind of notice for a user (only kinds that may be muted)."""
    if muted:
        await insert_if_absent(session, Mute, telegram_id=telegram_id, kind=kind)
    else:
        await session.exec(
            delete(Mute).where(col(Mute.telegram_id) == telegram_id, col(Mute.kind) == kind)
        )
