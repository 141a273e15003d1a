"""The catalogue of renovation items that round 2's menus are made from.

Each item has a code, names and descriptions in Chinese and English, one of
the three classes (basic items are done anyway; residents choose among the
others), an estimated cost kept in integer fen, and optionally a picture.
The repository ships a default catalogue (``bot/data/menu.toml``); staff load
their own from CSV, XLSX or TOML. Loading is all or nothing and matches items
by code, so loading the same file twice changes nothing.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.audit import Actor, record
from bot.flows.importing import ImportResult
from bot.flows.tables import TableError, read_rows
from storage.models import ItemClass, MenuItem

PICTURE_LIMIT = 10 * 1024 * 1024  # Telegram's largest photo

DEFAULT_CATALOGUE = Path(__file__).parent.parent / "data" / "menu.toml"
HEADERS = {
    "code": ("code", "编号", "代码"),
    "class": ("class", "类别", "分类"),
    "cost_yuan": ("cost_yuan", "cost", "估算金额", "估算金额（元）", "估价"),
    "name_zh": ("name_zh", "名称", "项目名称"),
    "name_en": ("name_en", "english name", "英文名称"),
    "description_zh": ("description_zh", "说明", "项目说明"),
    "description_en": ("description_en", "english description", "英文说明"),
    "picture": ("picture", "图片"),
}
CLASS_NAMES = {
    "basic": ItemClass.BASIC,
    "基础类": ItemClass.BASIC,
    "improvement": ItemClass.IMPROVEMENT,
    "完善类": ItemClass.IMPROVEMENT,
    "upgrade": ItemClass.UPGRADE,
    "提升类": ItemClass.UPGRADE,
}
FIELD_LIMITS = {"code": 20, "name_zh": 100, "name_en": 100}


def yuan_to_fen(text: str) -> int | None:
    """``"1234.5"`` yuan as 123450 fen, exactly; None for anything that is not such an amount."""
    try:
        amount = Decimal(text.replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        return None
    fen = amount * 100
    if not amount.is_finite() or amount < 0 or fen != fen.to_integral_value():
        return None
    return int(fen)


def fen_text(fen: int) -> str:
    """Fen as yuan for people: ``123450`` -> ``"1,234.50"``."""
    yuan, cents = divmod(fen, 100)
    return f"{yuan:,}" if cents == 0 else f"{yuan:,}.{cents:02d}"


def _rows(path: Path) -> list[tuple[int | None, dict[str, str]]]:
    """(line, values) of each item in a TOML, CSV or XLSX catalogue."""
    if path.suffix.lower() != ".toml":
        rows = read_rows(path, HEADERS, {"code", "class", "cost_yuan", "name_zh"})
        return [(row.line, row.values) for row in rows]
    try:
        items = tomllib.loads(path.read_text(encoding="utf-8")).get("item", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TableError(
            path, None, None, "not a readable TOML catalogue: {error}", error=error
        ) from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise TableError(path, None, None, "items must be [[item]] tables")
    return [(None, {k: str(v) for k, v in item.items()}) for item in items]


def _item(path: Path, line: int | None, values: dict[str, str]) -> MenuItem:
    def problem(column: str, text: str, **values: object) -> TableError:
        return TableError(path, line, column, text, **values)

    for column in ("code", "class", "cost_yuan", "name_zh"):
        if not values.get(column, "").strip():
            raise problem(column, "is empty")
    for column, limit in FIELD_LIMITS.items():
        if len(values.get(column, "")) > limit:
            raise problem(column, "longer than {limit} characters", limit=limit)
    item_class = CLASS_NAMES.get(values["class"].strip().lower())
    if item_class is None:
        raise problem("class", "use basic/基础类, improvement/完善类 or upgrade/提升类")
    cost = yuan_to_fen(values["cost_yuan"])
    if cost is None:
        raise problem("cost_yuan", "{typed!r} is not an amount in yuan", typed=values["cost_yuan"])
    picture = None
    if values.get("picture", "").strip():
        picture_path = path.parent / values["picture"].strip()
        try:
            picture = picture_path.read_bytes()
        except OSError:
            raise problem("picture", "cannot read {path}", path=picture_path) from None
        if len(picture) > PICTURE_LIMIT:
            raise problem(
                "picture", "{name} is over Telegram's 10 MB for photos", name=picture_path.name
            )
    return MenuItem(
        code=values["code"].strip().upper(),
        name_zh=values["name_zh"].strip(),
        name_en=values.get("name_en", "").strip() or values["name_zh"].strip(),
        description_zh=values.get("description_zh", "").strip()[:1000],
        description_en=values.get("description_en", "").strip()[:1000],
        item_class=item_class,
        cost_fen=cost,
        picture=picture,
    )


async def load_catalogue(session: AsyncSession, path: Path, actor: Actor) -> ImportResult:
    """Add new items and update changed ones, matched by code; all rows checked first."""
    items = [_item(path, line, values) for line, values in _rows(path)]
    codes = [item.code for item in items]
    duplicated = {code for code in codes if codes.count(code) > 1}
    if duplicated:
        raise TableError(
            path, None, "code", "appears twice: {codes}", codes=", ".join(sorted(duplicated))
        )
    existing = {
        item.code: item
        for item in await session.exec(select(MenuItem).where(MenuItem.code.in_(codes)))
    }
    created = updated = unchanged = 0
    columns = [c for c in MenuItem.model_fields if c not in ("id",)]
    for item in items:
        current = existing.get(item.code)
        if current is None:
            session.add(item)
            created += 1
        elif all(getattr(current, c) == getattr(item, c) for c in columns):
            unchanged += 1
        else:
            for column in columns:
                setattr(current, column, getattr(item, column))
            updated += 1
    record(
        session,
        actor,
        "menu/import",
        str(path.name),
        created=created,
        updated=updated,
        unchanged=unchanged,
    )
    await session.flush()
    return ImportResult(created, updated, unchanged)


async def ensure_catalogue(session: AsyncSession, actor: Actor) -> None:
    """Load the shipped catalogue if no catalogue was loaded yet."""
    if (await session.exec(select(func.count()).select_from(MenuItem))).one() == 0:
        await load_catalogue(session, DEFAULT_CATALOGUE, actor)


async def catalogue(session: AsyncSession) -> list[MenuItem]:
    return list(await session.exec(select(MenuItem).order_by(MenuItem.code)))


def name_of(item: MenuItem, language: str) -> str:
    return item.name_en if language == "en" else item.name_zh


def description_of(item: MenuItem, language: str) -> str:
    return (item.description_en if language == "en" else item.description_zh) or ""
