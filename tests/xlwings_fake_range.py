"""Ranges of the fake Excel (tests/xlwings_fake.py): values, formulas, formats, merged cells,
fills, bold, autofit and hyperlinks, each access counted as one round trip to Excel."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .xlwings_fake import FakeExcel, FakeSheet, SheetState

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


class FakeComError(Exception):
    """What pywin32 raises when Excel refuses a call."""

    def __init__(self, hresult: int, text: str) -> None:
        super().__init__(hresult, text, None, None)
        self.hresult = hresult


class _Proxy:
    def __init__(self, excel: FakeExcel) -> None:
        self._excel = excel
        self._owner = threading.get_ident()

    def _call(self, op: str, write: bool = False) -> None:
        self._excel.call(op, self._owner, write)


class FakeRange(_Proxy):
    def __init__(self, sheet: FakeSheet, first: Any, last: Any = None, ndim: int | None = None) -> None:
        super().__init__(sheet._excel)
        self._sheet = sheet
        self._ndim = ndim
        if isinstance(first, str):
            self.areas = [_parse_area(a) for a in first.replace("$", "").split(",")]
        else:
            last = last or first
            self.areas = [(first[0], first[1], last[0], last[1])]

    @property
    def _cells(self) -> SheetState:
        return self._sheet._state

    def options(self, ndim: int | None = None, **kwargs: Any) -> FakeRange:
        rng = FakeRange(self._sheet, (1, 1), ndim=ndim)
        rng.areas = self.areas
        return rng

    @property
    def row(self) -> int:
        self._call("range.row")
        return self.areas[0][0]

    @property
    def column(self) -> int:
        self._call("range.column")
        return self.areas[0][1]

    @property
    def last_cell(self) -> FakeRange:
        self._call("range.last_cell")
        r1, c1, r2, c2 = self.areas[0]
        return FakeRange(self._sheet, (r2, c2))

    @property
    def address(self) -> str:
        self._call("range.address")
        return ",".join(_address(a) for a in self.areas)

    @property
    def value(self) -> Any:
        self._call("range.value")
        r1, c1, r2, c2 = self.areas[0]
        rows = [[self._cells.values.get((r, c)) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
        if self._ndim == 2:
            return rows
        if r1 == r2 and c1 == c2:
            return rows[0][0]
        return rows[0] if r1 == r2 else [row[0] for row in rows] if c1 == c2 else rows

    @value.setter
    def value(self, data: Any) -> None:
        self._call("range.value", write=True)
        r1, c1, _, _ = self.areas[0]
        grid = data if isinstance(data, list) and data and isinstance(data[0], list) else [[data]]
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                self._store((r1 + i, c1 + j), v)

    @property
    def formula(self) -> Any:
        self._call("range.formula")
        r1, c1, r2, c2 = self.areas[0]

        def text(cell: tuple[int, int]) -> str:
            if cell in self._cells.formulas:
                return self._cells.formulas[cell]
            v = self._cells.values.get(cell)
            return "" if v is None else str(v)

        rows = tuple(tuple(text((r, c)) for c in range(c1, c2 + 1)) for r in range(r1, r2 + 1))
        return rows[0][0] if r1 == r2 and c1 == c2 else rows

    @property
    def api(self) -> Any:
        """The COM Range, here only ``Hyperlinks.Count`` (how many links lie in the range) and
        ``FormatConditions`` (tests/xlwings_fake_rules.py)."""
        from .xlwings_fake_rules import FormatConditions

        self._call("range.api")
        rng = self

        class Hyperlinks:
            @property
            def Count(self) -> int:  # COM's name
                rng._call("range.api.Hyperlinks.Count")
                return sum(1 for r1, c1, r2, c2 in rng.areas for (r, c) in rng._cells.links
                           if r1 <= r <= r2 and c1 <= c <= c2)

        return type("Range", (), {"Hyperlinks": Hyperlinks(), "FormatConditions": FormatConditions(self)})()

    @property
    def hyperlink(self) -> str:
        """xlwings: the address of a lone cell's hyperlink, raising a plain Exception when it has
        none; for a formula cell, as xlwings does, the formula's first quoted text instead."""
        formula = self.formula  # xlwings asks for it first: one more round trip
        if isinstance(formula, str) and formula.startswith("="):
            match = re.search(r'"(.+?)"', formula)
            if match is None:
                raise Exception("The cell doesn't seem to contain a hyperlink!")
            return match.group(1)
        self._call("range.hyperlink")
        r1, c1, _, _ = self.areas[0]
        if (r1, c1) not in self._cells.links:
            raise Exception("The cell doesn't seem to contain a hyperlink!")
        return self._cells.links[(r1, c1)]

    @property
    def number_format(self) -> str | None:
        self._call("range.number_format")
        r1, c1, _, _ = self.areas[0]
        return self._cells.formats.get((r1, c1), "General")

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        self._call("range.number_format", write=True)
        for r1, c1, r2, c2 in self.areas:
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    self._cells.formats[(r, c)] = fmt

    @property
    def merge_cells(self) -> bool:
        """xlwings: True if the range contains merged cells."""
        self._call("range.merge_cells")
        return any(m[0] <= r2 and m[2] >= r1 and m[1] <= c2 and m[3] >= c1
                   for r1, c1, r2, c2 in self.areas for m in self._cells.merged)

    @property
    def color(self) -> tuple[int, int, int] | None:
        """xlwings: the fill colour (RGB) of the range, None when it has none."""
        self._call("range.color")
        r1, c1, _, _ = self.areas[0]
        return self._cells.fills.get((r1, c1))

    @color.setter
    def color(self, rgb: tuple[int, int, int] | None) -> None:
        self._call("range.color", write=True)
        for cell in self._each():
            if rgb is None:
                self._cells.fills.pop(cell, None)
            else:
                self._cells.fills[cell] = rgb

    @property
    def font(self) -> _FakeFont:
        """xlwings: the range's Font (here only bold)."""
        return _FakeFont(self)

    def _each(self) -> list[tuple[int, int]]:
        return [(r, c) for r1, c1, r2, c2 in self.areas for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]

    @property
    def row_height(self) -> float:
        return self._cells.row_heights.get(self.areas[0][0], 15.0)

    @row_height.setter
    def row_height(self, points: float) -> None:
        from .xlwings_fake_pictures import set_row_height

        set_row_height(self, points)

    @property
    def column_width(self) -> float:
        return self._cells.column_widths.get(self.areas[0][1], 8.43)

    @column_width.setter
    def column_width(self, chars: float) -> None:
        from .xlwings_fake_pictures import set_column_width

        set_column_width(self, chars)

    @property
    def columns(self) -> _FakeColumns:
        """xlwings: the range's columns (RangeColumns), here only for autofit()."""
        return _FakeColumns(self)

    def _store(self, cell: tuple[int, int], v: Any) -> None:
        """What Excel does with a value written into a cell."""
        cells = self._cells
        cells.formulas.pop(cell, None)
        if isinstance(v, str) and cells.formats.get(cell) != "@":
            if v.startswith("="):
                cells.formulas[cell] = v
                cells.values[cell] = None  # nothing here evaluates formulas
                return
            if _NUMBER.match(v.strip()):
                v = float(v)
        if v is None or v == "":
            cells.values.pop(cell, None)
        else:
            cells.values[cell] = float(v) if isinstance(v, int) and not isinstance(v, bool) else v


class _FakeFont:
    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng

    @property
    def bold(self) -> bool:
        self._rng._call("range.font.bold")
        r1, c1, _, _ = self._rng.areas[0]
        return (r1, c1) in self._rng._cells.bold

    @bold.setter
    def bold(self, value: bool) -> None:
        self._rng._call("range.font.bold", write=True)
        for cell in self._rng._each():
            (self._rng._cells.bold.add if value else self._rng._cells.bold.discard)(cell)


class _FakeColumns:
    def __init__(self, rng: FakeRange) -> None:
        self._rng = rng

    def autofit(self) -> None:
        self._rng._call("range.columns.autofit", write=True)
        for _, c1, _, c2 in self._rng.areas:
            self._rng._cells.autofitted.update(range(c1, c2 + 1))


def _parse_area(text: str) -> tuple[int, int, int, int]:
    first, _, last = text.partition(":")
    r1, c1 = _cell(first)
    r2, c2 = _cell(last or first)
    return (r1, c1, r2, c2)


def _cell(text: str) -> tuple[int, int]:
    match = _CELL.match(text)
    if not match:
        raise FakeComError(-2146827284, f"Bad address {text!r}")
    col = 0
    for ch in match.group(1):
        col = col * 26 + ord(ch) - 64
    return int(match.group(2)), col


def _address(area: tuple[int, int, int, int]) -> str:
    from openpyxl.utils import get_column_letter as column_letter

    r1, c1, r2, c2 = area
    first = f"${column_letter(c1)}${r1}"
    return first if (r1, c1) == (r2, c2) else f"{first}:${column_letter(c2)}${r2}"
