"""A workbook file as what it is: a zip package of XML parts (Office Open XML).

The file backend reads cells straight from a sheet's XML and, on save, replaces only the parts it
changed (the sheet it wrote into, the cache sheet, the styles, the workbook's list of sheets and
the package's index of parts). Every other part is copied byte for byte, so whatever Excel or
another program wrote there (sparklines, data bars, charts, tables, pictures, shapes, form
controls, slicers, VBA, a ribbon...) comes back exactly as it was.

Opening checks, in this order, what a person may have in hand instead of a workbook: an
encrypted (password-protected) workbook or an old .xls renamed (both are OLE files, not zips),
something that is not a zip at all, a zip that is not a workbook, a damaged zip, and XML that
is broken or carries a document type (the only way an "XML bomb" works; a workbook never has one).
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
import zlib
from pathlib import Path

from lxml import etree

from xlwings_meter.errors import (
    BrokenWorkbookError,
    EncryptedWorkbookError,
    NotAWorkbookError,
    OldExcelFormatError,
    WorkbookError,
)

PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORKSHEET_REL = DOC_REL + "/worksheet"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
#: A part bigger than this once unzipped is refused rather than loaded (a "zip bomb").
MAX_PART_BYTES = 1 << 30
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class Package:
    """The parts of one .xlsx/.xlsm file, held in memory; nothing reaches the disk until to_bytes()."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = _read_file(path)
        self.digest = hashlib.sha256(data).hexdigest()  # the file as opened, to notice a change
        if data.startswith(_OLE_MAGIC):
            if _ENCRYPTION_INFO in data:
                raise EncryptedWorkbookError(path)
            raise OldExcelFormatError(path)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError) as exc:
            if data.startswith(b"PK\x03\x04"):  # a zip cut short or damaged
                raise BrokenWorkbookError(path, "the zip directory") from exc
            raise NotAWorkbookError(path) from exc
        self._names = {info.filename.lower(): info.filename for info in self._zip.infolist()}
        self._changed: dict[str, bytes] = {}
        self._removed: set[str] = set()
        self._trees: dict[str, etree._Element] = {}
        if "[content_types].xml" not in self._names:
            raise NotAWorkbookError(path)
        workbook = next((target for target, kind in self.relations("_rels/.rels").values()
                         if kind.endswith("/officeDocument")), None)
        if workbook is None or not self.has(workbook):
            raise NotAWorkbookError(path)
        if etree.QName(self.xml(workbook)).localname != "workbook":  # a Word or PowerPoint file
            raise NotAWorkbookError(path)
        self.workbook_part = workbook

    # -- reading ---------------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """True when the package holds a part of that name (names are case-insensitive)."""
        if name in self._removed:
            return False
        return name.lower() in self._names or name in self._changed

    def read(self, name: str) -> bytes:
        """The bytes of a part, as changed so far."""
        if name in self._changed:
            return self._changed[name]
        if name in self._removed:
            raise BrokenWorkbookError(self.path, name)
        real = self._names.get(name.lower())
        if real is None:
            raise BrokenWorkbookError(self.path, name)
        info = self._zip.getinfo(real)
        if info.file_size > MAX_PART_BYTES:
            raise BrokenWorkbookError(self.path, name)
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise BrokenWorkbookError(self.path, name) from exc

    def names(self) -> list[str]:
        """Every part the saved package will hold."""
        found = [n for n in self._names.values() if n not in self._removed]
        return found + [n for n in self._changed if n not in found]

    def check_parts(self) -> None:
        """Read every part once, so a damaged one is found now, not when saving (after paying)."""
        for info in self._zip.infolist():
            self.read(info.filename)

    def xml(self, name: str) -> etree._Element:
        """The parsed XML of a part; the same tree each time, so changes to it are kept."""
        if name not in self._trees:
            data = self.read(name)
            if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
                raise BrokenWorkbookError(self.path, name)
            try:
                self._trees[name] = etree.fromstring(data, _PARSER)
            except etree.XMLSyntaxError as exc:
                raise BrokenWorkbookError(self.path, name) from exc
        return self._trees[name]

    def relations(self, rels_part: str) -> dict[str, tuple[str, str]]:
        """{id: (target part name, relationship type)} of a .rels part; {} if it does not exist.

        External targets (a web address, a file outside the package) keep their text as it is.
        """
        if not self.has(rels_part):
            return {}
        base = posixpath.dirname(posixpath.dirname(rels_part))
        found = {}
        for rel in self.xml(rels_part).iter(f"{{{PKG_REL}}}Relationship"):
            target, kind = rel.get("Target", ""), rel.get("Type", "")
            if rel.get("TargetMode") != "External":
                target = part_name(base, target)
            found[rel.get("Id", "")] = (target, kind)
        return found

    # -- changing --------------------------------------------------------------------------------

    def touch(self, name: str) -> None:
        """Mark a part whose tree (from xml()) was changed, to be written back on save."""
        self._changed[name] = b""

    def add_part(self, name: str, root: etree._Element, content_type: str) -> None:
        """Add a new XML part (or replace one wholly) and declare its content type."""
        if self.has(name):
            self.remove(name)
        self._removed.discard(name)
        self._trees[name] = root
        self._changed[name] = b""
        types = self.xml("[Content_Types].xml")
        override = etree.SubElement(types, f"{{{CT_NS}}}Override")
        override.set("PartName", "/" + name)
        override.set("ContentType", content_type)
        self.touch("[Content_Types].xml")

    def add_relation(self, source_part: str, target_part: str, kind: str, external: bool = False) -> str:
        """Relate ``source_part`` to ``target_part`` (a part, or with ``external`` a file or web
        address outside the package); returns the new relationship id. The .rels part is made
        when the source has none yet."""
        rels_part = rels_of(source_part)
        if not self.has(rels_part):
            self._removed.discard(rels_part)
            self._trees[rels_part] = etree.Element(f"{{{PKG_REL}}}Relationships", nsmap={None: PKG_REL})
        root = self.xml(rels_part)
        taken = {r.get("Id") for r in root}
        rid = next(f"rIdMeter{n}" for n in range(1, len(taken) + 2) if f"rIdMeter{n}" not in taken)
        rel = etree.SubElement(root, f"{{{PKG_REL}}}Relationship")
        rel.set("Id", rid)
        rel.set("Type", kind)
        if external:
            rel.set("Target", target_part)
            rel.set("TargetMode", "External")
        else:
            rel.set("Target", posixpath.relpath(target_part, posixpath.dirname(source_part)))
        self.touch(rels_part)
        return rid

    def add_binary(self, name: str, data: bytes, extension_type: tuple[str, str]) -> None:
        """Add a binary part (a picture); ``extension_type`` (extension, content type) is
        declared for its extension unless the package declares it already."""
        self._removed.discard(name)
        self._trees.pop(name, None)
        self._changed[name] = data
        types = self.xml("[Content_Types].xml")
        ext, kind = extension_type
        if not any(d.get("Extension", "").lower() == ext for d in types.iter(f"{{{CT_NS}}}Default")):
            default = etree.Element(f"{{{CT_NS}}}Default")
            default.set("Extension", ext)
            default.set("ContentType", kind)
            types.insert(0, default)
            self.touch("[Content_Types].xml")

    def remove(self, name: str) -> None:
        """Leave a part out of the saved package, and its content-type entry with it."""
        self._removed.add(name)
        self._changed.pop(name, None)
        self._trees.pop(name, None)
        types = self.xml("[Content_Types].xml")
        for override in list(types.iter(f"{{{CT_NS}}}Override")):
            if override.get("PartName", "").lstrip("/").lower() == name.lower():
                types.remove(override)
                self.touch("[Content_Types].xml")

    def free_name(self, pattern: str) -> str:
        """The first ``pattern.format(n)`` (n = 1, 2...) that is not a part yet."""
        n = 1
        while self.has(pattern.format(n)):
            n += 1
        return pattern.format(n)

    @property
    def changed(self) -> list[str]:
        """Names of the parts that will be written anew."""
        return sorted(self._changed)

    def to_bytes(self) -> bytes:
        """The whole package as a zip: changed parts re-serialised, every other part as it was."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            written = set()
            for info in self._zip.infolist():
                name = info.filename
                if name in self._removed:
                    continue
                data = self._serialised(name) if name in self._changed else self.read(name)
                copy = zipfile.ZipInfo(name, date_time=info.date_time)
                copy.compress_type = zipfile.ZIP_DEFLATED if info.compress_type != zipfile.ZIP_STORED \
                    else zipfile.ZIP_STORED
                copy.external_attr = info.external_attr
                dst.writestr(copy, data)
                written.add(name)
            for name in self._changed:
                if name not in written and name not in self._removed:
                    dst.writestr(name, self._serialised(name))
        return out.getvalue()

    def _serialised(self, name: str) -> bytes:
        if name in self._trees:
            return etree.tostring(self._trees[name], xml_declaration=True, encoding="UTF-8",
                                  standalone=True)
        return self._changed[name]


def rels_of(part: str) -> str:
    """The name of a part's relationships part: "xl/workbook.xml" -> "xl/_rels/workbook.xml.rels"."""
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def part_name(base: str, target: str) -> str:
    """A relationship's target as a part name: ``("xl", "worksheets/sheet1.xml")`` -> "xl/worksheets/sheet1.xml"."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target)).lstrip("/")


def _read_file(path: Path) -> bytes:
    if not path.exists():
        raise WorkbookError(f"Workbook not found: {path}")
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise WorkbookError(f"{path.name} is not an .xlsx or .xlsm workbook")
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise WorkbookError(f"Cannot open {path.name}: no permission to read it") from exc
    except OSError as exc:
        raise WorkbookError(f"Cannot open {path.name}: {exc.strerror or exc}") from exc
