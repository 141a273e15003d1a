"""Fonts for charts and printed sheets, and the size of their pages.

Noto Sans CJK SC comes with the ``mplfonts`` package, so no system font
package is needed and no Chinese label turns into empty boxes. The marks
people see in the chat (✅ ⬜ ℹ️) are in no CJK font: charts fall back to
Debian's ``fonts-symbola`` for them where it is installed. (Chat pages in a
browser use ``fonts-noto-color-emoji``; matplotlib cannot draw that font's
colour bitmaps, only outlines like Symbola's.)
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from importlib.resources import files
from pathlib import Path

A4_INCHES = (8.27, 11.69)
EMOJI_FONT_FILE = "Symbola"  # Symbola.ttf, or Symbola_hint.ttf as Debian ships it
# What the pictures need, by Debian package, with a family each brings as fontconfig names it.
PICTURE_FONTS = {
    "fonts-noto-cjk": "Noto Sans CJK SC",  # the chat page's Chinese
    "fonts-noto-color-emoji": "Noto Color Emoji",  # the chat page's ✅ ⬜ ℹ️
    "fonts-symbola": "Symbola",  # the same marks in charts
}


@cache
def cjk_font_family() -> str:
    """Register the font with matplotlib once; returns its family name.

    Both are imported here, by the first chart or sheet: importing ``mplfonts``
    imports matplotlib.
    """
    from matplotlib import font_manager

    font = str(files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf")
    font_manager.fontManager.addfont(font)
    return font_manager.FontProperties(fname=font).get_name()


@cache
def emoji_font_family() -> str | None:
    """The installed emoji font that matplotlib can draw, registered once; None without."""
    from matplotlib import font_manager

    for font in sorted(font_manager.findSystemFonts()):
        if Path(font).stem.startswith(EMOJI_FONT_FILE):
            font_manager.fontManager.addfont(font)
            return font_manager.FontProperties(fname=font).get_name()
    return None


def chart_font_families() -> list[str]:
    """Chinese first, then the emoji marks, then matplotlib's own font for the rest."""
    emoji = emoji_font_family()
    return [cjk_font_family(), *([emoji] if emoji else []), "DejaVu Sans"]


def missing_font_packages() -> list[str]:
    """The packages of ``PICTURE_FONTS`` whose family fontconfig lacks (all, without it)."""
    fc_list = shutil.which("fc-list")
    return [
        package
        for package, family in PICTURE_FONTS.items()
        if fc_list is None or subprocess.run([fc_list, "-q", family], check=False).returncode
    ]
