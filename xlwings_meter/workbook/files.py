"""The sheet interface over a workbook file (.xlsx/.xlsm), part by part (see ``package``).

Only what the tool writes changes: the cells of the result columns and their formats, their
column widths, the cache sheet, and the index entries a new sheet needs. Every other part of the
file (other sheets, charts, pictures, VBA, whatever Excel wrote) is copied byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from lxml import etree

from xlwings_meter.errors import (
    ColumnNotFoundError,
    WorkbookChangedError,
    WorkbookError,
    WorkbookInUseError,
)
from xlwings_meter.workbook.cache import CACHE_SHEET
from xlwings_meter.workbook.cfxml import fill_format, replace_rules
from xlwings_meter.workbook.package import WORKSHEET_REL, WORKSHEET_TYPE, Package, rels_of
from xlwings_meter.workbook.pagexml import drawn_areas, keyed_pictures, write_page_part
from xlwings_meter.workbook.sheet import FLAG_FILL, FLAG_FONT, Cell, Page, Picture, login_name
from xlwings_meter.workbook.sheetxml import (
    SheetXml,
    StylesXml,
    rc_to_ref,
    shared_strings,
)

_EMPTY_SHEET = ('<worksheet xmlns="{ns}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
                '2006/relationships"><sheetData/></worksheet>')
_MIN_STYLES = ('<styleSheet xmlns="{ns}"><fonts count="1"><font/></fonts><fills count="1"><fill/>'
               '</fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/>'
               '</cellStyleXfs><cellXfs count="1"><xf/></cellXfs></styleSheet>')


class FileSheet:
    """One worksheet of a FileBook."""

    def __init__(self, name: str, xml: SheetXml, styles: StylesXml | None = None,
                 drawn: Callable[[], list[tuple[int, int, int, int]]] = list) -> None:
        self.name = name
        self._xml = xml
        self._styles = styles
        self.drawn = drawn  # the cells pictures and charts lie over (see WorksheetIO.drawn)

    def extent(self) -> tuple[int, int]:
        """(last used row, last used column); (0, 0) for an empty sheet."""
        return self._xml.extent()

    def read_block(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        """Values of the rectangle, row by row; empty cells are None, formulas give their text."""
        return [[self._xml.formula(r, c) or self._xml.value(r, c) for c in range(left, right + 1)]
                for r in range(top, bottom + 1)]

    def read_shown(self, top: int, left: int, bottom: int, right: int) -> list[list[Cell]]:
        """What the rectangle shows: a formula gives the value Excel last computed for it."""
        return [[self._xml.value(r, c) for c in range(left, right + 1)] for r in range(top, bottom + 1)]

    def links(self, top: int, left: int, bottom: int, right: int) -> dict[tuple[int, int], str]:
        """Targets of the hyperlinks (Insert > Link) on cells of the rectangle."""
        found = {}
        for r in range(top, bottom + 1):
            for c in range(left, right + 1):
                target = self._xml.link(r, c)
                if target is not None:
                    found[(r, c)] = target
        return found

    def obstacles(self, top: int, left: int, bottom: int, right: int) -> tuple[bool, list[str]]:
        """(the sheet is protected, merged areas that overlap the rectangle)."""
        merged = [f"{rc_to_ref(t, lo)}:{rc_to_ref(b, hi)}" for t, lo, b, hi in self._xml.merged()
                  if t <= bottom and b >= top and lo <= right and hi >= left]
        return self._xml.protected(), merged

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
                fmt = number_formats[i][j] if number_formats is not None else None
                self._xml.write(top + i, left + j, value, fmt)
        self._xml.update_dimension()

    def dress(self, header: tuple[int, int], row: int, left: int, widths: Sequence[float]) -> None:
        """Give cells ``row``, ``left``... the format of cell ``header``, and widen their columns.

        A cell a person formatted keeps its format; a column a person made wider keeps its width.
        """
        style = self._xml.style(*header)
        for j, width in enumerate(widths):
            if style and not self._xml.style(row, left + j):
                self._xml.write(row, left + j, self._xml.value(row, left + j), style=style)
            self._xml.widen(left + j, width)

    def highlight(self, area: tuple[int, int, int, int], formulas: Sequence[str], mark: str) -> None:
        """Replace this tool's conditional-formatting rules (their formula holds ``mark``)."""
        assert self._styles is not None
        dxf, added = fill_format(self._styles.root, FLAG_FILL, FLAG_FONT)
        if added:
            self._styles.changed()
        top, left, bottom, right = area
        if replace_rules(self._xml.root, f"{rc_to_ref(top, left)}:{rc_to_ref(bottom, right)}",
                         formulas, mark, dxf):
            self._xml.changed()


class FileBook:
    """A workbook file opened for reading and writing; nothing reaches the disk until save()."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.folder: Path | None = self.path.resolve().parent
        self._pkg = Package(self.path)
        pkg = self._pkg
        # What each file save() may replace held when it was last seen (None: no file there).
        self._seen: dict[Path, str | None] = {self.path.resolve(): pkg.digest}
        self._wb_part = pkg.workbook_part
        self._wb = pkg.xml(self._wb_part)
        self._ns = etree.QName(self._wb).namespace or ""
        rels = pkg.relations(rels_of(self._wb_part))
        self._styles_part = next((t for t, k in rels.values() if k.endswith("/styles")), None)
        strings_part = next((t for t, k in rels.values() if k.endswith("/sharedStrings")), None)
        self._strings = shared_strings(pkg.xml(strings_part) if strings_part and pkg.has(strings_part) else None)
        calc = self._wb.find(f"{{{self._ns}}}calcPr")
        self._recalculated = calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")  # as opened
        self._styles: StylesXml | None = None
        self._sheets: dict[str, tuple[str, etree._Element, str | None]] = {}
        for node in self._sheets_node():
            target, kind = rels.get(node.get(f"{{{_R}}}id", ""), ("", ""))
            self._sheets[node.get("name", "")] = (target, node, target if kind.endswith("/worksheet") else None)
        self._open: dict[str, FileSheet] = {}

    def _sheets_node(self) -> etree._Element:
        node = self._wb.find(f"{{{self._ns}}}sheets")
        if node is None:
            raise WorkbookError(f"{self.path.name} has no sheets")
        return node

    def sheet_names(self) -> list[str]:
        """Names of every sheet, in order, hidden ones included."""
        return list(self._sheets)

    def sheet(self, name: str | None = None) -> FileSheet:
        """The named sheet (any case), or the first visible worksheet."""
        for title, (_, node, part) in self._sheets.items():
            if part is None:
                continue
            if (node.get("state", "visible") == "visible" if name is None
                    else title.casefold() == name.casefold()):
                return self._sheet(title)
        if name is None:
            raise ColumnNotFoundError(f"{self.path.name} has no visible worksheet", named=False)
        raise ColumnNotFoundError(
            f"No sheet named {name!r} in {self.path.name} (sheets: {', '.join(self._sheets)})",
            sheet=name)

    def hidden_sheet(self, name: str) -> FileSheet:
        """The named sheet, created hidden at the end of the workbook if it does not exist."""
        if name in self._sheets and self._sheets[name][2] is not None:
            return self._sheet(name)
        self._add_sheet(name, hidden=True)
        return self._sheet(name)

    def page_pictures(self, name: str) -> dict[str, Picture]:
        """The keyed pictures the sheet's drawing holds (see pagexml.keyed_pictures)."""
        part = next((p for t, (_, _, p) in self._sheets.items() if p and t.casefold() == name.casefold()), None)
        return keyed_pictures(self._pkg, part) if part else {}

    def write_page(self, name: str, page: Page, prefix: str) -> None:
        """Make sheet ``name`` show ``page`` (see BookIO): its part is written anew with its
        pictures; ``prefix`` needs no use here, the sheet's old drawing being the tool's."""
        title = next((t for t, (_, _, part) in self._sheets.items()
                      if part is not None and t.casefold() == name.casefold()), None)
        if title is None:
            self._add_sheet(name, hidden=False)
            title = name
        part = self._sheets[title][2]
        assert part is not None
        self._open.pop(title, None)
        write_page_part(self._pkg, part, self._ns, self._styles_xml(), page)
        self._changed(part)

    def _add_sheet(self, name: str, hidden: bool) -> None:
        pkg = self._pkg
        part = pkg.free_name(posixpath.join(posixpath.dirname(self._wb_part), "worksheets/sheet{}.xml"))
        pkg.add_part(part, etree.fromstring(_EMPTY_SHEET.format(ns=self._ns)), WORKSHEET_TYPE)
        rid = pkg.add_relation(self._wb_part, part, WORKSHEET_REL)
        sheets = self._sheets_node()
        node = etree.SubElement(sheets, f"{{{self._ns}}}sheet")
        ids = [int(n.get("sheetId") or 0) for n in sheets]
        node.set("name", name)
        node.set("sheetId", str(max(ids, default=0) + 1))
        if hidden:
            node.set("state", "hidden")
        node.set(f"{{{_R}}}id", rid)
        pkg.touch(self._wb_part)
        self._sheets[name] = (part, node, part)

    def _sheet(self, title: str) -> FileSheet:
        if title not in self._open:
            part = self._sheets[title][2]
            assert part is not None
            links = {rid: target for rid, (target, kind) in self._pkg.relations(rels_of(part)).items()
                     if kind.endswith("/hyperlink")}
            xml = SheetXml(self._pkg.xml(part), self._strings, self._styles_xml(), links,
                           on_change=lambda: self._changed(part), recalculated=self._recalculated)
            self._open[title] = FileSheet(title, xml, self._styles_xml(), lambda: drawn_areas(self._pkg, part))
        return self._open[title]

    def user_name(self) -> str:
        """The login name of who runs this (the audit of a correction names them)."""
        return login_name()

    def _styles_xml(self) -> StylesXml:
        if self._styles is None:
            pkg = self._pkg
            if self._styles_part is None or not pkg.has(self._styles_part):
                self._styles_part = pkg.free_name(posixpath.join(posixpath.dirname(self._wb_part),
                                                                 "styles{}.xml"))
                pkg.add_part(self._styles_part, etree.fromstring(_MIN_STYLES.format(ns=self._ns)),
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml")
                pkg.add_relation(self._wb_part, self._styles_part, _R + "/styles")
            part = self._styles_part
            self._styles = StylesXml(pkg.xml(part), on_change=lambda: pkg.touch(part))
        return self._styles

    def _changed(self, part: str) -> None:
        self._pkg.touch(part)
        calc = self._wb.find(f"{{{self._ns}}}calcPr")
        if calc is None:
            calc = etree.Element(f"{{{self._ns}}}calcPr")
            following = [n for n in self._wb if etree.QName(n).localname in _AFTER_CALC]
            following[0].addprevious(calc) if following else self._wb.append(calc)
        if calc.get("fullCalcOnLoad") != "1":  # formulas over the results are recomputed on open
            calc.set("fullCalcOnLoad", "1")
            self._pkg.touch(self._wb_part)

    @property
    def changed_parts(self) -> list[str]:
        """The parts save() writes anew; every other part is copied byte for byte."""
        return self._pkg.changed

    def close(self) -> None:
        """Nothing to release: the file was read into memory when opened."""

    def __enter__(self) -> FileBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_target(self, path: Path | None = None) -> Path:
        """The path save() would write, refused now (WorkbookError) if save() would fail.

        Called before any photo is read, so nothing is paid for in a batch whose result could
        not be saved: a wrong extension or folder, a folder or file that cannot be written, a
        workbook open in Excel (its lock file ``~$name`` beside it), or a damaged part that
        could not be copied into the saved file.
        """
        target = self._target(path)
        self._pkg.check_parts()
        lock = _excel_lock(target)
        if lock is not None:
            raise WorkbookInUseError(target, lock)
        self._seen.setdefault(target.resolve(), _digest(target))
        if target.is_file() and target.resolve() != self.path.resolve() and not _written_by_us(target):
            raise WorkbookError(f"{target.name} exists already and is not a copy this tool wrote: "
                                "name another --output file; nothing was overwritten")
        with self._writing(target):
            if target.exists():
                if not target.is_file():
                    raise WorkbookError(f"Cannot write {target.name}: it is not a file")
                open(target, "r+b").close()  # read-only, or locked by Excel on Windows
            fd, name = tempfile.mkstemp(prefix=f".~{target.stem}.", dir=target.resolve().parent)
            os.close(fd)
            os.unlink(name)
        return target

    def save(self, path: Path | None = None) -> Path:
        """Save atomically to ``path`` (default: where it was opened).

        The package is built in memory, written to a temporary file in the same folder, flushed
        to disk, then renamed over the target: a crash or a full disk leaves the old file whole.
        A target reached through a symbolic link stays a link: the file it leads to is replaced.
        Raises WorkbookChangedError, overwriting nothing, if the target changed since it was
        opened (or checked), or Excel's lock file appeared beside it, meanwhile: someone's work.
        """
        target = self._target(path)
        data = self._pkg.to_bytes()
        self._check_unchanged(target)
        real = target.resolve()
        with self._writing(target):
            fd, name = tempfile.mkstemp(prefix=f".~{real.stem}.", suffix=real.suffix, dir=real.parent)
            tmp = Path(name)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                # mkstemp makes a private file: give it the permissions of the file it
                # replaces, or, for a new copy, those of the original.
                os.chmod(tmp, (real if real.exists() else self.path).stat().st_mode & 0o7777)
                os.replace(tmp, real)
                self._seen[real] = hashlib.sha256(data).hexdigest()  # now our own
            finally:
                tmp.unlink(missing_ok=True)
        return target

    def _check_unchanged(self, target: Path) -> None:
        lock = _excel_lock(target)
        if lock is not None:
            raise WorkbookChangedError(target, lock)
        key = target.resolve()
        if key in self._seen and _digest(target) != self._seen[key]:
            raise WorkbookChangedError(target)

    def _target(self, path: Path | None) -> Path:
        target = Path(path or self.path)
        if target.is_dir():
            raise WorkbookError(f"{target} is a folder: name a file in it to save to, such as "
                                f"{target / (self.path.stem + '-read' + self.path.suffix)}")
        if target.suffix.lower() != self.path.suffix.lower():
            raise WorkbookError(
                f"Save {self.path.name} with the same extension ({self.path.suffix}), not "
                + (target.suffix if target.suffix else f"none ({target.name})")
            )
        if not target.parent.is_dir():
            raise WorkbookError(f"Cannot write {target.name}: the folder {target.parent} does not exist")
        return target

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


_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#: Elements of a workbook part that come after calcPr, in the order the format prescribes.
_AFTER_CALC = ("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
               "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")


def _excel_lock(target: Path) -> Path | None:
    """Excel's lock file ``~$NAME`` of a workbook, if there is one: beside the path Excel was
    given, or beside the file a link leads to."""
    for path in (target, target.resolve()):
        lock = path.with_name("~$" + path.name)
        if lock.exists():
            return lock
    return None


def _digest(path: Path) -> str | None:
    """SHA-256 of a file's content; None when there is no file to read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()  # as Package reads it: whole
    except OSError:
        return None


def _written_by_us(path: Path) -> bool:
    """True when the workbook at ``path`` holds this tool's cache sheet: an earlier --output copy."""
    try:
        with zipfile.ZipFile(path) as zf:
            return b'name="' + CACHE_SHEET.encode() + b'"' in zf.read("xl/workbook.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
