"""The sheet interface over a workbook file (.xlsx/.xlsm), through openpyxl."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from xlwings_meter.errors import (
    ColumnNotFoundError,
    UnsupportedContentError,
    WorkbookError,
)
from xlwings_meter.workbook.sheet import Cell, plain


class FileSheet:
    """One worksheet of a FileBook."""

    def __init__(self, ws: Worksheet) -> None:
        self._ws = ws
        self.name: str = ws.title

    def extent(self) -> tuple[int, int]:
        """(last used row, last used column); (0, 0) for an empty sheet."""
        ws = self._ws
        if ws.max_row == 1 and ws.max_column == 1 and ws.cell(1, 1).value is None:
            return (0, 0)
        return (ws.max_row, ws.max_column)

    def read_block(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        """Values of the rectangle, row by row; empty cells are None."""
        if bottom < top or right < left:
            return []
        rows = self._ws.iter_rows(
            min_row=top, max_row=bottom, min_col=left, max_col=right, values_only=True
        )
        return [[plain(v) for v in row] for row in rows]

    def write_block(
        self,
        top: int,
        left: int,
        values: Sequence[Sequence[Cell]],
        number_formats: Sequence[Sequence[str | None]] | None = None,
    ) -> None:
        """Write a rectangle of values with ``values[0][0]`` at (top, left)."""
        for i, row in enumerate(values):
            for j, value in enumerate(row):
                cell = self._ws.cell(row=top + i, column=left + j)
                if number_formats is not None and number_formats[i][j] is not None:
                    cell.number_format = number_formats[i][j]
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    if value.startswith("="):
                        cell.value = value
                        cell.data_type = "s"  # a text that starts with "=" stays text
                        continue
                cell.value = value


class FileBook:
    """A workbook file opened for reading and writing; nothing reaches the disk until save().

    A .xlsm keeps its VBA project and ribbon through openpyxl's ``keep_vba``; formulas are
    kept as formulas, styles and other sheets as they were.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.folder: Path | None = self.path.resolve().parent
        self._wb = _load(self.path)
        #: Kinds of content the last save could not carry over (see save()).
        self.lost: list[str] = []

    def sheet_names(self) -> list[str]:
        """Names of every sheet, in order, hidden ones included."""
        return list(self._wb.sheetnames)

    def sheet(self, name: str | None = None) -> FileSheet:
        """The named sheet, or the first visible one."""
        if name is None:
            for ws in self._wb.worksheets:
                if ws.sheet_state == "visible":
                    return FileSheet(ws)
            raise ColumnNotFoundError(f"{self.path.name} has no visible worksheet", named=False)
        for ws in self._wb.worksheets:
            if ws.title == name or ws.title.casefold() == name.casefold():
                return FileSheet(ws)
        raise ColumnNotFoundError(
            f"No sheet named {name!r} in {self.path.name} (sheets: {', '.join(self._wb.sheetnames)})",
            sheet=name,
        )

    def hidden_sheet(self, name: str) -> FileSheet:
        """The named sheet, created hidden at the end of the workbook if it does not exist."""
        if name in self._wb.sheetnames:
            return FileSheet(self._wb[name])
        ws = self._wb.create_sheet(name)
        ws.sheet_state = "hidden"
        return FileSheet(ws)

    def close(self) -> None:
        """Release the source file (openpyxl keeps a macro workbook's zip open for its VBA)."""
        _close(self._wb)

    def __enter__(self) -> FileBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_target(self, path: Path | None = None) -> Path:
        """The path save() would write, refused now (WorkbookError) if save() would fail.

        Called before any photo is read, so that nothing is paid for in a batch whose result
        could not be saved: a wrong extension or folder, a folder that cannot be written, or
        (saving in place) content openpyxl would drop. It writes a trial copy and deletes it.
        """
        target = self._target(path)
        with self._writing(target):
            if target.exists():
                if not target.is_file():
                    raise WorkbookError(f"Cannot write {target.name}: it is not a file")
                open(target, "r+b").close()  # read-only, or locked by Excel on Windows
            # openpyxl's save consumes the images it carried over from the file, so a workbook
            # with pictures gets its trial on a copy of its own (loading twice costs time).
            has_images = any(getattr(ws, "_images", None) for ws in self._wb.worksheets)
            trial = _load(self.path) if has_images else self._wb
            try:
                self._write_temp(target, trial).unlink()
            finally:
                if trial is not self._wb:
                    _close(trial)
        return target

    def save(self, path: Path | None = None) -> Path:
        """Save atomically to ``path`` (default: where it was opened).

        The workbook is written to a temporary file in the same folder, flushed to disk, then
        renamed over the target: a crash or a full disk leaves the old file whole. Saving over
        the original is refused (UnsupportedContentError) when the written file would lack
        parts the original has (shapes, form controls, slicers... which openpyxl cannot keep);
        a copy elsewhere is written, and ``lost`` then names what it lacks.
        """
        target = self._target(path)
        with self._writing(target):
            tmp = self._write_temp(target)
            try:
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                # mkstemp makes a private file: give it the permissions of the file it
                # replaces, or, for a new copy, those of the original.
                os.chmod(tmp, (target if target.exists() else self.path).stat().st_mode & 0o7777)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return target

    def _target(self, path: Path | None) -> Path:
        target = Path(path or self.path)
        if target.suffix.lower() != self.path.suffix.lower():
            raise WorkbookError(
                f"Save {self.path.name} with the same extension ({self.path.suffix}), not {target.suffix}"
            )
        if not target.parent.is_dir():
            raise WorkbookError(f"Cannot write {target.name}: the folder {target.parent} does not exist")
        return target

    def _write_temp(self, target: Path, wb: Workbook | None = None) -> Path:
        """The workbook (or ``wb``) written to a temporary file beside ``target``, checked for
        lost content."""
        fd, name = tempfile.mkstemp(prefix=f".~{target.stem}.", suffix=target.suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            (wb or self._wb).save(tmp)
            self.lost = lost_parts(self.path, tmp)
            if self.lost and target.resolve() == self.path.resolve():
                raise UnsupportedContentError(
                    f"{self.path.name} contains {', '.join(self.lost)} that this command cannot keep, "
                    "so it was not changed; use the Read meters button in Excel, or --output to "
                    "write the readings into a copy"
                )
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    @contextmanager
    def _writing(self, target: Path) -> Iterator[None]:
        """Turn the OS's refusals to write ``target`` into one-line WorkbookErrors."""
        try:
            yield
        except PermissionError as exc:
            raise WorkbookError(
                f"Cannot write {target.name}: it or its folder is read-only, or it is open in "
                "another program (close it in Excel)"
            ) from exc
        except OSError as exc:
            raise WorkbookError(f"Cannot write {target.name}: {exc.strerror or exc}") from exc


def _load(path: Path) -> Workbook:
    if not path.exists():
        raise WorkbookError(f"Workbook not found: {path}")
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise WorkbookError(f"{path.name} is not an .xlsx or .xlsm workbook")
    try:
        return openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm", keep_links=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise WorkbookError(f"{path.name} is not a workbook openpyxl can read ({exc})") from exc


def _close(wb: Workbook) -> None:
    archive = getattr(wb, "vba_archive", None)
    if archive is not None:
        archive.close()


#: Parts a workbook may lose through openpyxl without losing anything a person made:
#: Excel rebuilds them (calculation chain, shared strings) or they are not content.
_REBUILT = ("calcChain", "sharedStrings", "printerSettings", "core-properties", "extended-properties",
            "custom-properties", "thumbnail", "jpeg", "styles", "theme")
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def lost_parts(original: Path, written: Path) -> list[str]:
    """Kinds of part (by content type) of which ``written`` has fewer than ``original``."""
    before, after = _part_types(original), _part_types(written)
    lost = [t for t, n in before.items() if after[t] < n and not any(r in t for r in _REBUILT)]
    return sorted(_describe(t) for t in lost)


def _part_types(path: Path) -> Counter[str]:
    with zipfile.ZipFile(path) as z:
        root = ElementTree.fromstring(z.read("[Content_Types].xml"))
        defaults = {e.get("Extension", "").lower(): e.get("ContentType", "")
                    for e in root.iter(f"{_CT_NS}Default")}
        overrides = {e.get("PartName", "").lstrip("/"): e.get("ContentType", "")
                     for e in root.iter(f"{_CT_NS}Override")}
        names = [n for n in z.namelist() if not n.endswith("/") and n != "[Content_Types].xml"
                 and "_rels/" not in n]
    return Counter(overrides.get(n) or defaults.get(n.rsplit(".", 1)[-1].lower(), "unknown") for n in names)


def _describe(content_type: str) -> str:
    kind = content_type.rsplit("/", 1)[-1].split("+")[0].removeprefix("vnd.").split(".")[-1]
    return {"drawing": "drawings (shapes, text boxes)", "vmlDrawing": "legacy drawings (form controls)",
            "ctrlProp": "form controls", "slicer": "slicers", "slicerCache": "slicers",
            "timeline": "timelines", "oleObject": "embedded objects"}.get(kind, f"{kind} parts")
