"""``linli --help`` and its usage errors in the configured language (``default_language``).

The English help is the text written in ``bot/cli/`` (docstrings and ``help=``);
another language translates it in ``bot/i18n/<language>/LC_MESSAGES/cli.po`` the
way gettext does, the English text being the message id, so a help text changed
in the code shows up as untranslated (tests/test_cli.py checks that none is).

click's own words are in the same catalogue: the help's frame ("Usage: ",
"Options") through a formatter that looks them up, and its usage errors
("Missing option {name}.") matched whole against their English templates, so
that the values in them carry over. A message click words otherwise stays in
English inside the translated frame.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import typer

# typer's vendored click, which it exports by no public name.
from typer._click.core import Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer._click.formatting import HelpFormatter

from bot.i18n import shell_catalogue, shell_words

# A click command; typer has vendored click (typer._click), so it goes by no public name.
Command = Any


def commands(root: Command) -> Iterator[Command]:
    """``root`` and every command under it."""
    yield root
    for command in getattr(root, "commands", {}).values():  # a group's
        yield from commands(command)


def help_texts(command: Command) -> list[str]:
    """The help texts of a command and its options, as the help shows them."""
    texts = [command.help, command.short_help, *(getattr(p, "help", None) for p in command.params)]
    return [inspect.cleandoc(text) for text in texts if text]


# click's usage errors, as it words them (typer's vendored click, which has no gettext).
CLICK_ERRORS = (
    "No such option: {name} (Possible options: {choices})",
    "No such option: {name}",
    "No such command {name}.",
    "Missing command.",
    "Missing option {name}.",
    "Missing argument {name}.",
    "Missing parameter: {name}",
    "Option {name} requires an argument.",
    "Option {name} does not take a value.",
    "Got unexpected extra argument(s) ({value})",
    "Invalid value for {name}: {value}",
    "Input should be a valid integer, unable to parse string as an integer",
    "Input should be greater than or equal to {value}",
    "Input should be less than or equal to {value}",
    "{value} is not one of {choices}.",
)
# The bracketed notes typer adds to an option's help: [default: 20], [required].
OPTION_NOTE = re.compile(r"\[(?P<notes>[^\[\]]+)\]$")


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)  # text, name, text, name, ..., text
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


class Words:
    """click's words in one language, from the help catalogue."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.catalogue = shell_catalogue(language)

    def __call__(self, english: str, **values: object) -> str:
        return shell_words(self.language, english, **values)

    def error(self, message: str) -> str:
        """One of click's errors in this language, if it is a known one."""
        for line in message.splitlines():
            for template in CLICK_ERRORS:
                found = _template_pattern(template).fullmatch(line)
                if found is not None:
                    values = found.groupdict()
                    if "value" in values:  # "Invalid value for x: 0 is not in the range ..."
                        values["value"] = self.error(values["value"])
                    message = message.replace(line, self(template, **values))
                    break
        return message

    def notes(self, help_text: str) -> str:
        """An option's help with typer's notes ("default: 20; required") translated."""
        found = OPTION_NOTE.search(help_text)
        if found is None:
            return self(help_text) if help_text in self.catalogue else help_text
        notes = []
        for note in found["notes"].split("; "):
            name, _, value = note.partition(": ")
            notes.append(self(f"{name}: {{value}}", value=value) if value else self(note))
        return f"{help_text[: found.start()]}[{'; '.join(notes)}]"


def _formatter_for(words: Words) -> type[HelpFormatter]:
    class TranslatedFormatter(HelpFormatter):
        """click's help layout, its own words in the shell's language."""

        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, words("Usage: ") if prefix is None else prefix)

        def write_heading(self, heading: str) -> None:
            self.write(f"{'':>{self.current_indent}}{words(heading + ':')}\n")  # 选项：

        def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
            super().write_dl([(t, words.notes(h)) for t, h in rows], col_max, col_spacing)

    return TranslatedFormatter


def show_error(error: ClickException, language: str) -> None:
    """What click would print for ``error``, in ``language``."""
    words = Words(language)
    if isinstance(error, NoArgsIsHelpError):
        typer.echo(error.format_message(), err=True)
        return
    if isinstance(error, UsageError) and error.ctx is not None:
        context = error.ctx
        typer.echo(context.get_usage(), err=True)
        if context.command.get_help_option(context) is not None:
            option = context.help_option_names[0]
            typer.echo(
                words(
                    "Try '{command} {option}' for help.",
                    command=context.command_path,
                    option=option,
                ),
                err=True,
            )
        typer.echo(err=True)
    typer.echo(words("Error: {message}", message=words.error(error.format_message())), err=True)


def translate(root: Command, language: str) -> None:
    """Put every help text under ``root`` into ``language`` (English is the original),
    and click's own words with them."""
    if language == "en":
        return
    translated = shell_catalogue(language)
    context_class = type(
        "TranslatedContext", (Context,), {"formatter_class": _formatter_for(Words(language))}
    )

    def into(text: str | None) -> str | None:
        return translated.get(inspect.cleandoc(text), text) if text else text

    for command in commands(root):
        command.context_class = context_class
        command.help, command.short_help = into(command.help), into(command.short_help)
        for param in command.params:
            if getattr(param, "help", None):
                param.help = into(param.help)
