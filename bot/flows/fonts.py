"""A font with Chinese glyphs for charts and printed sheets, and the size of their pages.

Noto Sans CJK SC comes with the ``mplfonts`` package, so no system font
package is needed and no label turns into empty boxes.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

A4_INCHES = (8.27, 11.69)


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
