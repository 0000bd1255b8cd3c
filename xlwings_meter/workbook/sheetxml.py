"""Cells of one worksheet part, read and written in its XML tree (lxml keeps all else as it was).

Reading gives what openpyxl gave (numbers, text, booleans; a formula as its text) and, besides,
what Excel last computed for a formula (the cached value), hyperlinks, merged areas and sheet
protection. Writing touches only the cells written, the widths of the columns widened, the
sheet's dimension, and the styles part (number formats are added as new cell formats).
"""

from __future__ import annotations

import bisect
import copy
import re
from collections.abc import Callable

from lxml import etree

from xlwings_meter.workbook.sheet import Cell

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9,
                    "0.00%": 10, "@": 49}
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_SUCCESSORS_OF_COLS = ("sheetData",)


def ref_to_rc(ref: str) -> tuple[int, int]:
    """"B12" -> (12, 2)."""
    m = _REF.match(ref)
    if not m:
        raise ValueError(ref)
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def rc_to_ref(row: int, col: int) -> str:
    """(12, 2) -> "B12"."""
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def area(ref: str) -> tuple[int, int, int, int]:
    """"A1:C3" -> (top, left, bottom, right); a single cell is a 1x1 area."""
    first, _, last = ref.partition(":")
    top, left = ref_to_rc(first)
    bottom, right = ref_to_rc(last or first)
    return top, left, bottom, right


class SheetXml:
    """One worksheet's XML tree, with its cells indexed by (row, column)."""

    def __init__(self, root: etree._Element, strings: list[str], styles: StylesXml,
                 links: dict[str, str], on_change: Callable[[], None], *, recalculated: bool = False) -> None:
        self.root = root
        # The workbook asks to be recomputed when opened (fullCalcOnLoad): a writer that cannot
        # compute formulas (xlsxwriter) leaves 0 as their value for Excel to replace.
        self._recalculated = recalculated
        self.ns = etree.QName(root).namespace or ""
        self._strings = strings
        self._styles = styles
        self._links = links
        self._on_change = on_change
        data = root.find(self._q("sheetData"))
        if data is None:
            data = etree.SubElement(root, self._q("sheetData"))
        self.data = data
        self.rows: dict[int, etree._Element] = {}
        self.cells: dict[tuple[int, int], etree._Element] = {}
        self._shared: dict[str, str] = {}
        self._hyperlinks: dict[tuple[int, int], str] | None = None
        self._ranged_links: list[tuple[tuple[int, int, int, int], str]] = []
        r = 0
        for row in data.iter(self._q("row")):
            r = int(row.get("r") or r + 1)
            self.rows[r] = row
            c = 0
            for cell in row.iter(self._q("c")):
                ref = cell.get("r")
                c = ref_to_rc(ref)[1] if ref else c + 1
                self.cells[(r, c)] = cell
                f = cell.find(self._q("f"))
                if f is not None and f.get("t") == "shared" and f.text and f.get("si") is not None:
                    self._shared[f.get("si", "")] = f.text
        self._row_numbers = sorted(self.rows)

    def _q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}" if self.ns else tag

    # -- reading ---------------------------------------------------------------------------------

    def extent(self) -> tuple[int, int]:
        """(last row, last column) holding a value or a formula; (0, 0) when none does."""
        filled = [rc for rc, cell in self.cells.items() if self._has_content(cell)]
        if not filled:
            return (0, 0)
        return max(r for r, _ in filled), max(c for _, c in filled)

    def _has_content(self, cell: etree._Element) -> bool:
        return any(child.tag in (self._q("v"), self._q("f"), self._q("is")) for child in cell)

    def formula(self, row: int, col: int) -> str | None:
        """The cell's formula as "=..." (a shared formula gives its first cell's), or None."""
        cell = self.cells.get((row, col))
        f = cell.find(self._q("f")) if cell is not None else None
        if f is None:
            return None
        text = f.text or self._shared.get(f.get("si", ""), "")
        return "=" + text

    def value(self, row: int, col: int) -> Cell:
        """What the cell shows: its value, or for a formula the value Excel last computed."""
        cell = self.cells.get((row, col))
        if cell is None:
            return None
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(self._q("is"))
            return _text_of(inline, self.ns) if inline is not None else ""
        v = cell.find(self._q("v"))
        text = v.text if v is not None else None
        if text is None:
            return "" if kind == "str" and v is not None else None  # a formula Excel computed to ""
        if kind == "s":
            try:
                return self._strings[int(text)]
            except (ValueError, IndexError):
                return None
        if kind in ("str", "e", "d"):
            return text
        if self._recalculated and text.strip() == "0" and cell.find(self._q("f")) is not None:
            return None  # a placeholder, not a value: the formula was never computed
        if kind == "b":
            return text.strip() in ("1", "true")
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and re.fullmatch(r"-?\d+", text.strip()) else number

    def link(self, row: int, col: int) -> str | None:
        """Where a hyperlink on the cell (Insert > Link) leads: a file, a web address, a place in
        the workbook ("#Sheet2!A1"); or None."""
        if self._hyperlinks is None:
            self._hyperlinks = {}
            node = self.root.find(self._q("hyperlinks"))
            for h in node if node is not None else ():
                target = self._links.get(h.get(REL_ID, ""))
                if target is None and h.get("location"):
                    target = "#" + str(h.get("location"))
                try:
                    top, left, bottom, right = area(h.get("ref", ""))
                except ValueError:
                    continue
                if target is None:
                    continue
                if (top, left) == (bottom, right):
                    self._hyperlinks.setdefault((top, left), target)
                else:
                    self._ranged_links.append(((top, left, bottom, right), target))
        found = self._hyperlinks.get((row, col))
        if found is not None:
            return found
        for (top, left, bottom, right), target in self._ranged_links:
            if top <= row <= bottom and left <= col <= right:
                return target
        return None

    def merged(self) -> list[tuple[int, int, int, int]]:
        """Every merged area, as (top, left, bottom, right)."""
        node = self.root.find(self._q("mergeCells"))
        found = []
        for m in node if node is not None else ():
            try:
                found.append(area(m.get("ref", "")))
            except ValueError:
                continue
        return found

    def protected(self) -> bool:
        """True when the sheet is protected (its cells cannot be edited)."""
        p = self.root.find(self._q("sheetProtection"))
        return p is not None and p.get("sheet") in ("1", "true")

    def style(self, row: int, col: int) -> int:
        """The index of the cell's format (0 = the workbook's default)."""
        cell = self.cells.get((row, col))
        return int(cell.get("s") or 0) if cell is not None else 0

    # -- writing ---------------------------------------------------------------------------------

    def write(self, row: int, col: int, value: Cell, number_format: str | None = None,
              style: int | None = None) -> None:
        """Set one cell's value; ``style`` replaces its format, ``number_format`` changes it."""
        cell = self.cells.get((row, col))
        if cell is None:
            if value is None and number_format is None and style is None:
                return
            cell = self._new_cell(row, col)
        for child in list(cell):
            if child.tag != self._q("extLst"):
                cell.remove(child)
        for attr in ("t", "cm", "vm", "ph"):
            cell.attrib.pop(attr, None)
        base = style if style is not None else int(cell.get("s") or 0)
        if number_format is not None:
            base = self._styles.with_format(base, number_format)
        if base:
            cell.set("s", str(base))
        else:
            cell.attrib.pop("s", None)
        if isinstance(value, bool):
            cell.set("t", "b")
            self._add(cell, "v", "1" if value else "0")
        elif isinstance(value, (int, float)):
            self._add(cell, "v", repr(float(value)) if isinstance(value, float) else str(value))
        elif isinstance(value, str):
            cell.set("t", "inlineStr")
            inline = etree.Element(self._q("is"))
            t = etree.SubElement(inline, self._q("t"))
            t.text = _ILLEGAL.sub("", value)
            if t.text != t.text.strip():
                t.set(XML_SPACE, "preserve")
            cell.insert(0, inline)
        self._on_change()

    def _add(self, cell: etree._Element, tag: str, text: str) -> None:
        node = etree.Element(self._q(tag))
        node.text = text
        cell.insert(0, node)

    def _new_cell(self, row: int, col: int) -> etree._Element:
        row_node = self.rows.get(row)
        if row_node is None:
            row_node = etree.Element(self._q("row"))
            row_node.set("r", str(row))
            at = bisect.bisect(self._row_numbers, row)
            if at < len(self._row_numbers):
                self.rows[self._row_numbers[at]].addprevious(row_node)
            else:
                self.data.append(row_node)
            self._row_numbers.insert(at, row)
            self.rows[row] = row_node
        row_node.attrib.pop("spans", None)  # an optional hint that our new cell could falsify
        cell = etree.Element(self._q("c"))
        cell.set("r", rc_to_ref(row, col))
        for existing in row_node.iterchildren(self._q("c")):  # a row holds few cells
            ref = existing.get("r")
            if ref and ref_to_rc(ref)[1] > col:
                existing.addprevious(cell)
                break
        else:
            row_node.append(cell)
        self.cells[(row, col)] = cell
        return cell

    def widen(self, col: int, width: float) -> None:
        """Make column ``col`` at least ``width`` characters wide (a person's wider width stays)."""
        cols = self.root.find(self._q("cols"))
        if cols is None:
            cols = etree.Element(self._q("cols"))
            self.data.addprevious(cols)
        for node in list(cols):
            lo, hi = int(node.get("min", 0)), int(node.get("max", 0))
            if not lo <= col <= hi:
                continue
            if float(node.get("width") or 0) >= width or node.get("hidden") in ("1", "true"):
                return
            for a, b in ((lo, col - 1), (col + 1, hi)):  # split a range: only ours changes
                if a <= b:
                    part = copy.deepcopy(node)
                    part.set("min", str(a))
                    part.set("max", str(b))
                    node.addprevious(part) if b < col else node.addnext(part)
            node.set("min", str(col))
            node.set("max", str(col))
            node.set("width", f"{width:g}")
            node.set("customWidth", "1")
            self._on_change()
            return
        node = etree.Element(self._q("col"))
        for key, val in (("min", str(col)), ("max", str(col)), ("width", f"{width:g}"), ("customWidth", "1")):
            node.set(key, val)
        following = [n for n in cols if int(n.get("min", 0)) > col]
        if following:
            following[0].addprevious(node)
        else:
            cols.append(node)
        self._on_change()

    def changed(self) -> None:
        """Mark the part changed after its tree was edited from outside this class."""
        self._on_change()

    def update_dimension(self) -> None:
        """Make the sheet's declared used range cover what it now holds."""
        dim = self.root.find(self._q("dimension"))
        last_row, last_col = self.extent()
        if dim is None or not last_row:
            return
        dim.set("ref", f"A1:{rc_to_ref(last_row, last_col)}" if (last_row, last_col) != (1, 1) else "A1")


class StylesXml:
    """The workbook's styles part: cell formats (xf) and number formats, added to, never changed."""

    def __init__(self, root: etree._Element, on_change: Callable[[], None]) -> None:
        self.root = root
        self.ns = etree.QName(root).namespace or ""
        self._on_change = on_change
        self._made: dict[tuple[int, str], int] = {}

    def _q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}" if self.ns else tag

    def changed(self) -> None:
        """Mark the part changed after its tree was edited from outside this class."""
        self._on_change()

    def with_format(self, base: int, code: str) -> int:
        """The index of a cell format like ``base`` but showing numbers as ``code``."""
        if (base, code) in self._made:
            return self._made[(base, code)]
        xfs = self.root.find(self._q("cellXfs"))
        if xfs is None or not len(xfs):
            return base
        fmt_id = self._format_id(code)
        source = xfs[base] if base < len(xfs) else xfs[0]
        if source.get("numFmtId", "0") == str(fmt_id):
            self._made[(base, code)] = base
            return base
        xf = copy.deepcopy(source)
        xf.set("numFmtId", str(fmt_id))
        xf.set("applyNumberFormat", "1")
        self._made[(base, code)] = self.add_xf(xf)
        return self._made[(base, code)]

    def add_xf(self, xf: etree._Element) -> int:
        """The index of cell format ``xf``: an equal one already there (runs add none), else a new one."""
        xfs = self.root.find(self._q("cellXfs"))
        assert xfs is not None
        text = etree.tostring(xf)
        found = next((i for i, old in enumerate(xfs) if etree.tostring(old) == text), None)
        if found is None:
            xfs.append(xf)
            xfs.set("count", str(len(xfs)))
            self._on_change()
        return len(xfs) - 1 if found is None else found

    def _format_id(self, code: str) -> int:
        if code in _BUILTIN_FORMATS:
            return _BUILTIN_FORMATS[code]
        fmts = self.root.find(self._q("numFmts"))
        if fmts is None:
            fmts = etree.Element(self._q("numFmts"))
            self.root.insert(0, fmts)
        ids = [int(f.get("numFmtId", 0)) for f in fmts]
        for f in fmts:
            if f.get("formatCode") == code:
                return int(f.get("numFmtId", 0))
        new_id = max([163] + ids) + 1
        f = etree.SubElement(fmts, self._q("numFmt"))
        f.set("numFmtId", str(new_id))
        f.set("formatCode", code)
        fmts.set("count", str(len(fmts)))
        self._on_change()
        return new_id


def shared_strings(root: etree._Element | None) -> list[str]:
    """The texts of the shared-strings part (rich text flattened for reading; never rewritten)."""
    if root is None:
        return []
    ns = etree.QName(root).namespace or ""
    return [_text_of(si, ns) for si in root]


def _text_of(node: etree._Element, ns: str) -> str:
    """The text of a string item: plain or rich runs; phonetic guides (rPh) left out."""
    t_tag, rph = (f"{{{ns}}}t", f"{{{ns}}}rPh") if ns else ("t", "rPh")
    parts = []
    for t in node.iter(t_tag):
        parent = t.getparent()
        if parent is not None and parent.tag == rph:
            continue
        parts.append(t.text or "")
    return "".join(parts)
