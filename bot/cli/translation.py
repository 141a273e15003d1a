"""``linli --help`` in the configured language (``default_language``).

The English help is the text written in ``bot/cli/`` (docstrings and ``help=``);
another language translates it in ``bot/i18n/<language>/LC_MESSAGES/cli.po`` the
way gettext does, the English text being the message id, so a help text changed
in the code shows up as untranslated (tests/test_cli.py checks that none is).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

# A click command; typer has vendored click (typer._click), so it goes by no public name.
Command = Any

_CATALOGUES = Path(__file__).parent.parent / "i18n"


@cache
def help_catalogue(language: str) -> dict[str, str]:
    """English help text to its translation."""
    from babel.messages.pofile import read_po

    with open(_CATALOGUES / language / "LC_MESSAGES" / "cli.po", "rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id and m.string}


def commands(root: Command) -> Iterator[Command]:
    """``root`` and every command under it."""
    yield root
    for command in getattr(root, "commands", {}).values():  # a group's
        yield from commands(command)


def help_texts(command: Command) -> list[str]:
    """The help texts of a command and its options, as the help shows them."""
    texts = [command.help, command.short_help, *(getattr(p, "help", None) for p in command.params)]
    return [inspect.cleandoc(text) for text in texts if text]


def translate(root: Command, language: str) -> None:
    """Put every help text under ``root`` into ``language`` (English is the original)."""
    if language == "en":
        return
    translated = help_catalogue(language)

    def into(text: str | None) -> str | None:
        return translated.get(inspect.cleandoc(text), text) if text else text

    for command in commands(root):
        command.help, command.short_help = into(command.help), into(command.short_help)
        for param in command.params:
            if getattr(param, "help", None):
                param.help = into(param.help)
