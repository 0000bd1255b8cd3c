"""Conditional-formatting rules in a worksheet part, and the differential format they fill with.

Only this tool's rules (found by a mark in their formula) are replaced; a person's rules, and
the extension list where Excel keeps its newer ones (data bars, icon sets), are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lxml import etree

#: Elements of a worksheet that come after conditionalFormatting, in the order the format prescribes.
_AFTER = ("dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
          "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
          "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
          "controls", "webPublishItems", "tableParts", "extLst")


def replace_rules(sheet: etree._Element, sqref: str, formulas: Sequence[str], mark: str, dxf_id: int) -> bool:
    """Drop every rule whose formula holds ``mark``, then add one expression rule per formula
    over ``sqref`` with the format ``dxf_id``. True if the part changed."""
    ns = etree.QName(sheet).namespace or ""
    q = (lambda tag: f"{{{ns}}}{tag}") if ns else (lambda tag: tag)
    before = [etree.tostring(n) for n in sheet.iter(q("conditionalFormatting"))]
    for block in list(sheet.iterchildren(q("conditionalFormatting"))):
        for rule in list(block.iterchildren(q("cfRule"))):
            if any(mark in (f.text or "") for f in rule.iterchildren(q("formula"))):
                block.remove(rule)
        if not len(block.findall(q("cfRule"))):
            sheet.remove(block)
    if formulas:
        priorities = [int(r.get("priority") or 0) for r in sheet.iter(q("cfRule"))]
        block = etree.Element(q("conditionalFormatting"))
        block.set("sqref", sqref)
        for i, formula in enumerate(formulas, start=max(priorities, default=0) + 1):
            rule = etree.SubElement(block, q("cfRule"))
            rule.set("type", "expression")
            rule.set("dxfId", str(dxf_id))
            rule.set("priority", str(i))
            etree.SubElement(rule, q("formula")).text = formula
        _insert(sheet, block, q)
    return [etree.tostring(n) for n in sheet.iter(q("conditionalFormatting"))] != before


def _insert(sheet: etree._Element, block: etree._Element, q: Callable[[str], str]) -> None:
    existing = list(sheet.iterchildren(q("conditionalFormatting")))
    if existing:
        existing[-1].addnext(block)
        return
    following = next((n for n in sheet if etree.QName(n).localname in _AFTER), None)
    following.addprevious(block) if following is not None else sheet.append(block)


def fill_format(styles: etree._Element, fill: tuple[int, int, int], font: tuple[int, int, int]) -> tuple[int, bool]:
    """(index of a differential format with this fill and font colour, True if it was added):
    an equal one already in the styles part is reused, so re-runs add nothing."""
    ns = etree.QName(styles).namespace or ""
    q = (lambda tag: f"{{{ns}}}{tag}") if ns else (lambda tag: tag)
    dxf = etree.Element(q("dxf"), nsmap={None: ns} if ns else None)
    etree.SubElement(etree.SubElement(dxf, q("font")), q("color")).set("rgb", _argb(font))
    pattern = etree.SubElement(etree.SubElement(dxf, q("fill")), q("patternFill"))
    etree.SubElement(pattern, q("bgColor")).set("rgb", _argb(fill))
    dxfs = styles.find(q("dxfs"))
    if dxfs is None:
        dxfs = etree.Element(q("dxfs"))
        following = next((n for n in styles if etree.QName(n).localname in
                          ("tableStyles", "colors", "extLst")), None)
        following.addprevious(dxfs) if following is not None else styles.append(dxfs)
    wanted = etree.tostring(dxf, method="c14n", exclusive=True)
    for i, known in enumerate(dxfs):
        if etree.tostring(known, method="c14n", exclusive=True) == wanted:
            return i, False
    dxfs.append(dxf)
    dxfs.set("count", str(len(dxfs)))
    return len(dxfs) - 1, True


def _argb(rgb: tuple[int, int, int]) -> str:
    return "FF" + "".join(f"{x:02X}" for x in rgb)
