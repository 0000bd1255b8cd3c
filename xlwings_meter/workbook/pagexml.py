"""A sheet the tool owns (the Review sheet) written into a workbook file as parts of its package.

The sheet part is made anew from the Page; its pictures are a drawing part, one JPEG media part
per picture and the relationships between them, declared in the package's content types. The
sheet's old drawing, its media and its relationships are removed first, so a re-run replaces
the pictures instead of piling them up. Nothing outside this sheet's own parts changes.
"""

from __future__ import annotations

import copy
import posixpath

from lxml import etree

from xlwings_meter.workbook.package import DOC_REL, WORKSHEET_TYPE, Package, rels_of
from xlwings_meter.workbook.sheet import Page, Picture, link_target
from xlwings_meter.workbook.sheetxml import SheetXml, StylesXml, rc_to_ref

XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
DRAWING_REL = DOC_REL + "/drawing"
IMAGE_REL = DOC_REL + "/image"
HYPERLINK_REL = DOC_REL + "/hyperlink"
DRAWING_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
JPEG = ("jpeg", "image/jpeg")
MEDIA_PATTERN = "xl/media/xlwings-meter-{}.jpeg"
_EMU_PER_PIXEL = 9525
_OFFSET = 4 * _EMU_PER_PIXEL  # a picture's distance from its cell's top-left corner


def write_page_part(pkg: Package, part: str, ns: str, styles: StylesXml, page: Page) -> None:
    """Make sheet part ``part`` hold ``page``, replacing all it held (cells, links, pictures)."""
    _drop_old(pkg, part)
    root = etree.fromstring(
        f'<worksheet xmlns="{ns}" xmlns:r="{DOC_REL}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView>'
        '</sheetViews><sheetData/></worksheet>')
    pkg.add_part(part, root, WORKSHEET_TYPE)
    xml = SheetXml(root, [], styles, {}, on_change=lambda: None)
    for r, (values, formats) in enumerate(zip(page.cells, page.formats), start=1):
        for c, (value, fmt) in enumerate(zip(values, formats), start=1):
            xml.write(r, c, value, fmt)
    top: dict[int, int] = {}
    for cell in xml.cells.values():  # text beside a picture reads best at the picture's top
        base = int(cell.get("s") or 0)
        top[base] = top[base] if base in top else _top_aligned(styles, base)
        cell.set("s", str(top[base]))
    for c, width in enumerate(page.widths, start=1):
        xml.widen(c, width)
    if page.row_height:
        for r, row in xml.rows.items():
            if r > 1:
                row.set("ht", f"{page.row_height:g}")
                row.set("customHeight", "1")
    xml.update_dimension()
    q = f"{{{ns}}}"
    if page.links:
        links = etree.SubElement(root, q + "hyperlinks")
        for (r, c), target in sorted(page.links.items()):
            link = etree.SubElement(links, q + "hyperlink")
            link.set("ref", rc_to_ref(r, c))
            link.set(f"{{{DOC_REL}}}id", pkg.add_relation(part, link_target(target), HYPERLINK_REL,
                                                          external=True))
    if page.pictures:
        drawing = pkg.free_name(posixpath.join(posixpath.dirname(posixpath.dirname(part)),
                                               "drawings/drawing{}.xml"))
        pkg.add_part(drawing, _drawing(pkg, drawing, page.pictures), DRAWING_TYPE)
        etree.SubElement(root, q + "drawing").set(f"{{{DOC_REL}}}id",
                                                  pkg.add_relation(part, drawing, DRAWING_REL))


def keyed_pictures(pkg: Package, part: str) -> dict[str, Picture]:
    """The pictures of the sheet part's drawings that carry a key (in their title), by key: a
    re-run reuses those its photos and readings would make again, without decoding a photo."""
    found = {}
    for drawing, kind in pkg.relations(rels_of(part)).values():
        if kind != DRAWING_REL or not pkg.has(drawing):
            continue
        media = pkg.relations(rels_of(drawing))
        for anchor in pkg.xml(drawing):
            props = anchor.find(f".//{{{XDR}}}cNvPr")
            blip = anchor.find(f".//{{{A}}}blip")
            ext = anchor.find(f"{{{XDR}}}ext")
            if props is None or blip is None or ext is None or not props.get("title"):
                continue
            target = media.get(blip.get(f"{{{DOC_REL}}}embed", ""), ("", ""))[0]
            if target and pkg.has(target):
                found[props.get("title", "")] = Picture(
                    "", pkg.read(target), int(ext.get("cx", 0)) // _EMU_PER_PIXEL,
                    int(ext.get("cy", 0)) // _EMU_PER_PIXEL, 0, 0, props.get("title", ""))
    return found


def drawn_areas(pkg: Package, part: str) -> list[tuple[int, int, int, int]]:
    """The cells (top, left, bottom, right; 1-based) each picture, chart or shape of the sheet
    part's drawings lies over. An anchor by one cell or by position is sized in default cells
    (64 x 20 pixels): near enough to keep the tool's cells, and its widening, off it."""
    areas = []
    for drawing, kind in pkg.relations(rels_of(part)).values():
        if kind != DRAWING_REL or not pkg.has(drawing):
            continue
        for anchor in pkg.xml(drawing):
            start, end, ext = (anchor.find(f"{{{XDR}}}{t}") for t in ("from", "to", "ext"))
            pos = anchor.find(f"{{{XDR}}}pos")
            if start is not None:
                row, col = _cell_of(start)
            elif pos is not None:
                row, col = int(pos.get("y", 0)) // (20 * _EMU_PER_PIXEL), int(pos.get("x", 0)) // (64 * _EMU_PER_PIXEL)
            else:
                continue
            if end is not None:
                bottom, right = _cell_of(end)
            else:
                cx, cy = (int(ext.get(k, 0)) if ext is not None else 0 for k in ("cx", "cy"))
                bottom, right = row + cy // (20 * _EMU_PER_PIXEL), col + cx // (64 * _EMU_PER_PIXEL)
            areas.append((row + 1, col + 1, bottom + 1, right + 1))
    return areas


def _cell_of(marker: etree._Element) -> tuple[int, int]:
    """(row, column), 0-based, of an anchor's from/to marker."""
    return tuple(int(marker.findtext(f"{{{XDR}}}{t}") or 0) for t in ("row", "col"))  # type: ignore[return-value]


def _top_aligned(styles: StylesXml, base: int) -> int:
    """The index of a cell format like ``base``, its content at the top of the cell."""
    xfs = styles.root.find(f"{{{styles.ns}}}cellXfs")
    if xfs is None or not len(xfs):
        return base
    xf = copy.deepcopy(xfs[base] if base < len(xfs) else xfs[0])
    for old in xf.findall(f"{{{styles.ns}}}alignment"):
        xf.remove(old)
    xf.insert(0, etree.Element(f"{{{styles.ns}}}alignment", vertical="top"))  # first child of xf
    xf.set("applyAlignment", "1")
    return styles.add_xf(xf)


def _drop_old(pkg: Package, part: str) -> None:
    """Remove the sheet's relationships, its drawings, and their pictures that no other part
    uses (Excel renames media when it saves, and may share one picture between sheets)."""
    rels = rels_of(part)
    media: set[str] = set()
    for target, kind in pkg.relations(rels).values():
        if kind != DRAWING_REL or not pkg.has(target):
            continue
        media |= {m for m, k in pkg.relations(rels_of(target)).values() if k == IMAGE_REL}
        if pkg.has(rels_of(target)):
            pkg.remove(rels_of(target))
        pkg.remove(target)
    if pkg.has(rels):
        pkg.remove(rels)
    if media:
        used = {t for name in pkg.names() if name.endswith(".rels") for t, _ in pkg.relations(name).values()}
        for name in media - used:
            if pkg.has(name):
                pkg.remove(name)


def _drawing(pkg: Package, drawing: str, pictures: list[Picture]) -> etree._Element:
    root = etree.Element(f"{{{XDR}}}wsDr", nsmap={"xdr": XDR, "a": A, "r": DOC_REL})
    for n, pic in enumerate(pictures, start=2):
        media = pkg.free_name(MEDIA_PATTERN)
        pkg.add_binary(media, pic.data, JPEG)
        rid = pkg.add_relation(drawing, media, IMAGE_REL)
        cx, cy = pic.width * _EMU_PER_PIXEL, pic.height * _EMU_PER_PIXEL
        anchor = etree.SubElement(root, f"{{{XDR}}}oneCellAnchor")
        start = etree.SubElement(anchor, f"{{{XDR}}}from")
        for tag, text in (("col", pic.col - 1), ("colOff", _OFFSET), ("row", pic.row - 1), ("rowOff", _OFFSET)):
            etree.SubElement(start, f"{{{XDR}}}{tag}").text = str(text)
        _el(anchor, XDR, "ext", cx=cx, cy=cy)
        shape = etree.SubElement(anchor, f"{{{XDR}}}pic")
        nv = etree.SubElement(shape, f"{{{XDR}}}nvPicPr")
        _el(nv, XDR, "cNvPr", id=n, name=pic.name, descr=pic.name, **({"title": pic.key} if pic.key else {}))
        _el(etree.SubElement(nv, f"{{{XDR}}}cNvPicPr"), A, "picLocks", noChangeAspect=1)
        fill = etree.SubElement(shape, f"{{{XDR}}}blipFill")
        _el(fill, A, "blip").set(f"{{{DOC_REL}}}embed", rid)
        etree.SubElement(etree.SubElement(fill, f"{{{A}}}stretch"), f"{{{A}}}fillRect")
        sp = etree.SubElement(shape, f"{{{XDR}}}spPr")
        xfrm = etree.SubElement(sp, f"{{{A}}}xfrm")
        _el(xfrm, A, "off", x=0, y=0)
        _el(xfrm, A, "ext", cx=cx, cy=cy)
        etree.SubElement(_el(sp, A, "prstGeom", prst="rect"), f"{{{A}}}avLst")
        etree.SubElement(anchor, f"{{{XDR}}}clientData")
    return root


def _el(parent: etree._Element, ns: str, tag: str, **attrs: object) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}")
    for key, value in attrs.items():
        node.set(key, str(value))
    return node
