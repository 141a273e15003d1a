"""Closed sets of values that the command line also offers as choices.

They live apart from the tables (``storage.models`` imports them from here) so
that ``linli --help`` can list them without loading SQLAlchemy.
"""

from __future__ import annotations

from enum import StrEnum


class Choice(StrEnum):
    """A household's answer in round 1."""

    AGREE = "agree"
    DISAGREE = "disagree"


class Role(StrEnum):
    ADMIN = "admin"  # every community
    STAFF = "staff"  # the communities named in StaffCommunity


class Stage(StrEnum):
    """The stages of a community's renovation project, in order."""

    DESIGN = "design"
    CONSTRUCTION_START = "construction_start"
    MAIN_WORKS = "main_works"
    COMPLETION = "completion"
    ACCEPTANCE = "acceptance"
    HANDOVER = "handover"  # to the property management company
