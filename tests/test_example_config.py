"""config.example.toml documents every setting and loads as it stands."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from bot.config import Settings, load_settings

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def setting_names(model: type[BaseModel], table: str = "") -> set[tuple[str, str]]:
    names = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= setting_names(kind, name)
        else:
            names.add((table, name))
    return names


def test_every_setting_is_in_the_example_with_a_comment():
    text = EXAMPLE.read_text(encoding="utf-8")
    tables = re.split(r"^\[(\w+)\]$", text, flags=re.MULTILINE)
    sections = {"": tables[0], **dict(zip(tables[1::2], tables[2::2], strict=True))}
    for table, name in setting_names(Settings):
        assert re.search(rf"^#? ?{name} = ", sections[table], re.MULTILINE), (table, name)


def test_example_loads():
    assert load_settings(EXAMPLE).database.url == "sqlite+aiosqlite:///linli.db"
