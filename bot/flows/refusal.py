"""A flow's "no": what a user asked for is refused, with the catalogue key that says why."""

from __future__ import annotations


class Refusal(Exception):
    """Refused, and nothing of the request changed; ``reason`` is a catalogue key and
    ``values`` fill its placeholders. Each flow refuses with a subclass of its own."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values
