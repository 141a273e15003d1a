"""Opening a sent or written spreadsheet as the person it is for would: its first sheet."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet


def first_sheet(source: bytes | Path) -> Worksheet:
    workbook = load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source)
    sheet = workbook.worksheets[0]
    assert isinstance(sheet, Worksheet)
    return sheet
