"""A flow's "no": what a user asked for is refused, with the catalogue key that says why."""

from __future__ import annotations


class Words(str):
    """A refusal's value that is itself a catalogue key (a state's name, say): shown in
    the reader's language, not as the key."""


class Refusal(Exception):
    """Refused, and nothing of the request changed; ``reason`` is a catalogue key and
    ``values`` fill its placeholders (``Words`` among them looked up too). Each flow
    refuses with a subclass of its own."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values

    def told(self, language: str) -> str:
        """What the refusal says in ``language``."""
        from bot.i18n import text

        values = {
            name: text(language, value) if isinstance(value, Words) else value
            for name, value in self.values.items()
        }
        return text(language, self.reason, **values)
