"""Logging staff in to the officials' pages: a one-time link from the bot, then a session.

No passwords: the bot knows who is staff, so it sends a link with a random token
(256 bits). The link works once, within minutes; using it opens a session whose
random id lives in the browser's cookie. Only SHA-256 hashes of tokens and session
ids are stored, so a leaked database opens nothing. Removing someone from the staff
table ends their links and sessions with it (the rows cascade).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.audit import Actor, record
from bot.flows.refusal import Refusal
from bot.flows.registry import StaffMember, staff_member
from bot.i18n import language_of
from storage.models import User, WebLogin, WebSession
from storage.types import utcnow


class LoginRefused(Refusal):
    """A login link that cannot open a session; ``reason`` is a catalogue key."""


UNKNOWN, EXPIRED, USED = "web.link_unknown", "web.link_expired", "web.link_used"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_link(session: AsyncSession, member: StaffMember, minutes: int) -> str:
    """A new login token for a staff member, valid once within ``minutes``."""
    await _forget_expired(session)
    token = secrets.token_urlsafe(32)
    session.add(
        WebLogin(
            token_hash=_hash(token),
            staff_telegram_id=member.telegram_id,
            expires_at=utcnow() + timedelta(minutes=minutes),
        )
    )
    return token


async def _forget_expired(session: AsyncSession) -> None:
    """Links and sessions past their time open nothing; they go, so the tables stay small."""
    now = utcnow()
    await session.exec(delete(WebLogin).where(col(WebLogin.expires_at) <= now))
    await session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))


async def check_link(session: AsyncSession, token: str) -> WebLogin:
    """The login a token names, if it can still be used; refused otherwise."""
    login = await session.get(WebLogin, _hash(token), populate_existing=True)
    if login is None:
        raise LoginRefused(UNKNOWN)
    if login.used_at is not None:
        raise LoginRefused(USED)
    if login.expires_at <= utcnow():
        raise LoginRefused(EXPIRED)
    return login


async def redeem(session: AsyncSession, token: str, default_language: str, hours: int) -> str:
    """Use a login token: a new session's id (for the cookie) lasting ``hours``, in the
    language the staff member reads the bot in.

    One conditional UPDATE marks the token used, so two browsers racing with the
    same link open one session between them, never two."""
    login = await check_link(session, token)
    now = utcnow()
    used = await session.exec(
        update(WebLogin)
        .where(
            col(WebLogin.token_hash) == login.token_hash,
            col(WebLogin.used_at).is_(None),
            col(WebLogin.expires_at) > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise LoginRefused(USED)
    session_id = secrets.token_urlsafe(32)
    staff_id = login.staff_telegram_id
    session.add(
        WebSession(
            id_hash=_hash(session_id),
            staff_telegram_id=staff_id,
            language=await language_for(session, staff_id, default_language),
            expires_at=now + timedelta(hours=hours),
        )
    )
    record(session, Actor(staff_id, via="web"), "web/login", f"staff:{staff_id}")
    return session_id


async def language_for(session: AsyncSession, telegram_id: int, default: str) -> str:
    """The language the staff member reads the bot in."""
    user = await session.get(User, telegram_id)
    if user is None:
        return default
    return language_of(user.telegram_language, user.language, default)


async def session_of(session: AsyncSession, session_id: str) -> WebSession | None:
    """The live session a cookie names; None for none, an expired one or a forged one."""
    found = await session.get(WebSession, _hash(session_id))
    if found is None or found.expires_at <= utcnow():
        return None
    return found


async def member_of(session: AsyncSession, web_session: WebSession) -> StaffMember | None:
    """Who the session is, as the staff table has them now."""
    return await staff_member(session, web_session.staff_telegram_id)


async def choose_language(session: AsyncSession, session_id: str, language: str) -> None:
    found = await session.get(WebSession, _hash(session_id))
    if found is not None:
        found.language = language


async def end(session: AsyncSession, session_id: str) -> None:
    """Log out: the session is gone from the database, whatever the cookie still says."""
    await session.exec(delete(WebSession).where(col(WebSession.id_hash) == _hash(session_id)))
