"""The audit trail: an append-only row for every change.

Actions are named "subject/verb": "resident/bind", "ballot/cast", "notice/fire".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who made a change and through which door."""

    telegram_id: int | None = None
    via: str = "bot"  # bot | cli | scheduler
    update_id: int | None = None


CLI = Actor(via="cli")


def record(
    session: AsyncSession, actor: Actor, action: str, subject: str = "", **details: Any
) -> None:
    session.add(
        AuditEvent(
            actor_telegram_id=actor.telegram_id,
            actor=actor.via,
            action=action,
            subject=subject,
            details=details,
            update_id=actor.update_id,
        )
    )
