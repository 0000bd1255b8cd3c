"""Pictures, sizes and clearing in the fake Excel, as xlwings has them: ``sheet.pictures``
(iterate, ``add`` from a file with name/update/left/top/anchor/width/height, ``delete``),
``sheet.clear()``, ``range.row_height`` and ``range.column_width``; every call counted.

``add`` reads the image file at once, as Excel embeds it (``save_with_document``), so the test
sees the bytes even after the caller removed its temporary file; a name already on the sheet
is refused unless ``update`` (xlwings' ShapeAlreadyExists)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .xlwings_fake_range import FakeComError

if TYPE_CHECKING:
    from .xlwings_fake import FakeSheet
    from .xlwings_fake_range import FakeRange


@dataclass
class PictureState:
    """One picture on a sheet: its name, the embedded bytes, where its top-left sits, its size in points."""

    name: str
    data: bytes
    cell: tuple[int, int] | None  # the anchor cell, when placed by anchor
    left: float | None
    top: float | None
    width: float | None
    height: float | None


class FakePictures:
    def __init__(self, sheet: FakeSheet) -> None:
        self._sheet = sheet

    def _states(self) -> list[PictureState]:
        return self._sheet._state.pictures

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._sheet._call("sheet.pictures")
        return iter([FakePicture(self._sheet, p) for p in list(self._states())])

    def __len__(self) -> int:
        self._sheet._call("sheet.pictures")
        return len(self._states())

    def add(self, image: Any, link_to_file: bool = False, save_with_document: bool = True,
            left: float | None = None, top: float | None = None, width: float | None = None,
            height: float | None = None, name: str | None = None, update: bool = False,
            anchor: FakeRange | None = None, **kwargs: Any) -> FakePicture:
        self._sheet._call("sheet.pictures.add", write=True)
        if anchor is not None and (left or top):
            raise ValueError("You must either provide 'anchor' or 'top'/'left', but not both.")
        states = self._states()
        data = Path(image).read_bytes()
        existing = next((p for p in states if name is not None and p.name == name), None)
        if existing is not None:
            if not update:
                raise FakeComError(-2146827284, f"'{name}' is already present")
            existing.data = data  # update: the new image takes over the old one's place and size
            return FakePicture(self._sheet, existing)
        cell = (anchor.areas[0][0], anchor.areas[0][1]) if anchor is not None else None
        state = PictureState(name or f"Picture {len(states) + 1}", data, cell, left, top, width, height)
        states.append(state)
        return FakePicture(self._sheet, state)


class FakePicture:
    def __init__(self, sheet: FakeSheet, state: PictureState) -> None:
        self._sheet = sheet
        self._state = state

    @property
    def name(self) -> str:
        self._sheet._call("picture.name")
        return self._state.name

    def delete(self) -> None:
        self._sheet._call("picture.delete", write=True)
        self._sheet._state.pictures.remove(self._state)


def clear(sheet: FakeSheet) -> None:
    """xlwings ``Sheet.clear()``: contents and formats go; pictures stay (they are shapes)."""
    sheet._call("sheet.clear", write=True)
    state = sheet._state
    for cells in (state.values, state.formulas, state.formats, state.fills):
        cells.clear()
    state.bold.clear()


def set_row_height(rng: FakeRange, points: float) -> None:
    rng._call("range.row_height", write=True)
    for r1, _, r2, _ in rng.areas:
        for r in range(r1, r2 + 1):
            rng._cells.row_heights[r] = points


def set_column_width(rng: FakeRange, chars: float) -> None:
    rng._call("range.column_width", write=True)
    for _, c1, _, c2 in rng.areas:
        for c in range(c1, c2 + 1):
            rng._cells.column_widths[c] = chars
