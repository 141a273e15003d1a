"""Many residents at once, for broadcasts: imported households, bound users, open chats."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

from bot.flows import importing
from bot.flows.audit import CLI
from sandbox.client import SandboxClient
from storage.db import Database
from storage.models import Building, Community, Household, Resident, User
from storage.types import utcnow


async def crowd(
    db: Database,
    telegram: SandboxClient,
    folder: Path,
    community: str,
    count: int,
    first_id: int,
    *,
    started: bool = True,
) -> list[int]:
    """A community of ``count`` households, each with one bound resident who started the bot
    (unless ``started`` is False: then the server knows no chat with them).

    The registry is imported as staff import it; the bindings are written
    directly, since binding thousands through the chat is not what is tested.
    """
    (folder / f"{community}-c.csv").write_text(f"小区\n{community}\n", encoding="utf-8")
    rows = ["小区,楼栋,单元,室"] + [f"{community},{n // 100 + 1},1,{n}" for n in range(count)]
    (folder / f"{community}-h.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    async with db.session() as session:
        await importing.import_communities(session, folder / f"{community}-c.csv", CLI)
        await importing.import_households(session, folder / f"{community}-h.csv", CLI)
        households = (
            await session.exec(
                select(Household.id)
                .join(Building, Household.building_id == Building.id)
                .join(Community, Building.community_id == Community.id)
                .where(Community.name == community)
                .order_by(Household.id)
            )
        ).all()
        ids = [first_id + n for n in range(count)]
        now = utcnow()
        await session.exec(
            insert(User),
            params=[{"telegram_id": i, "first_name": f"居民{i}", "created_at": now} for i in ids],
        )
        await session.exec(
            insert(Resident),
            params=[
                {"telegram_id": i, "household_id": h, "bound_at": now}
                for i, h in zip(ids, households, strict=True)
            ],
        )
    if started:
        await telegram.add_users([{"id": i, "first_name": f"居民{i}"} for i in ids])
    return ids
