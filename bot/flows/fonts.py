"""A font with Chinese glyphs for charts and printed sheets.

Noto Sans CJK SC comes with the ``mplfonts`` package, so no system font
package is needed and no label turns into empty boxes.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from matplotlib import font_manager

CJK_FONT_FILE = files("mplfonts") / "fonts" / "NotoSansCJKsc-Regular.otf"


@cache
def cjk_font_family() -> str:
    """Register the font with matplotlib once; returns its family name."""
    font_manager.fontManager.addfont(str(CJK_FONT_FILE))
    return font_manager.FontProperties(fname=str(CJK_FONT_FILE)).get_name()
