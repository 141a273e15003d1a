"""Reading spreadsheets people actually send: CSV (with or without Excel's BOM) and XLSX."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zipfile import BadZipFile

from bot.i18n import Told


class TableError(Told):
    """A problem in an input file, located by file, line and column; ``problem`` is an
    English template that ``values`` fill (see ``Told``)."""

    def __init__(
        self, path: Path, line: int | None, column: str | None, problem: str, **values: object
    ) -> None:
        told = Told(problem, **values)
        if line is None and column is None:
            super().__init__("{file}: {problem}", file=path, problem=told)
        elif column is None:
            super().__init__("{file}, line {line}: {problem}", file=path, line=line, problem=told)
        elif line is None:
            super().__init__(
                "{file}, column {column!r}: {problem}", file=path, column=column, problem=told
            )
        else:
            super().__init__(
                "{file}, line {line}, column {column!r}: {problem}",
                file=path,
                line=line,
                column=column,
                problem=told,
            )


@dataclass(frozen=True)
class Row:
    line: int  # as a spreadsheet shows it: the header is line 1
    values: dict[str, str]  # canonical column name -> stripped text


def _raw_rows(path: Path) -> Iterator[list[str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as file:
            yield from csv.reader(file)
    elif suffix == ".xlsx":
        from openpyxl import load_workbook  # 10 MiB: imported by the first spreadsheet read
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except (BadZipFile, InvalidFileException, KeyError, OSError):
            raise TableError(path, None, None, "not a valid XLSX file") from None
        try:
            for cells in workbook.active.iter_rows(values_only=True):
                yield ["" if cell is None else _cell_text(cell) for cell in cells]
        finally:
            workbook.close()
    else:
        raise TableError(path, None, None, "unsupported file type; use .csv or .xlsx")


def _cell_text(cell: object) -> str:
    # Excel turns a room number such as 101 into the float 101.0.
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def read_rows(path: Path, headers: dict[str, tuple[str, ...]], required: set[str]) -> list[Row]:
    """The rows of a table whose header names columns in English or Chinese.

    ``headers`` maps each canonical column to the names it may go by.
    """
    if not path.is_file():
        raise TableError(path, None, None, "file not found")
    aliases = {alias.lower(): name for name, names in headers.items() for alias in names}
    try:
        raw = iter(_raw_rows(path))
        header = next(raw, None)
        if header is None:
            raise TableError(path, None, None, "the file is empty")
        columns = [aliases.get(cell.strip().lower()) for cell in header]
        missing = required - set(columns)
        if missing:
            expected = ", ".join("/".join(headers[name]) for name in sorted(missing))
            raise TableError(path, 1, None, "missing column(s): {columns}", columns=expected)
        rows = []
        for line, cells in enumerate(raw, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            values = {
                name: cell.strip() for name, cell in zip(columns, cells, strict=False) if name
            }
            rows.append(Row(line, values))
        return rows
    except UnicodeDecodeError:
        raise TableError(path, None, None, "not UTF-8 text; save the CSV as UTF-8") from None
    except csv.Error as error:
        raise TableError(path, None, None, "not a valid CSV file: {error}", error=error) from None
