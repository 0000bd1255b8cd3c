"""The photo a cell names, as the person sees it (pure: works on what the sheet gave).

A cell may name its photo by its text, by a formula (``=$G$2&"m1.jpg"``: what Excel last
computed is used), by ``=HYPERLINK("photos/m1.jpg", "meter 1")`` (the link, not the label), or
by a hyperlink put on it with Insert > Link (its target). A web address is not a photo on this
computer: it gets a row message of its own instead of "file not found", and so do an error value
(``#DIV/0!``), an e-mail address and a link to a place in the workbook.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from xlwings_meter.errors import NotAPathError, PhotoMissingError, UnsavedFormulaError, WebAddressError
from xlwings_meter.workbook.sheet import Cell, WorksheetIO

_HYPERLINK = re.compile(r'^=\s*HYPERLINK\s*\(\s*"((?:[^"]|"")*)"', re.IGNORECASE)
_WEB = re.compile(r"^\s*(https?|ftp)://|^\s*www\.", re.IGNORECASE)
#: Excel's error values, as a cell holding one shows it.
_ERROR = re.compile(r"^#(DIV/0!|N/A|NAME\?|NULL!|NUM!|REF!|VALUE!|SPILL!|CALC!|GETTING_DATA|FIELD!|BLOCKED!"
                    r"|CONNECT!|BUSY!|UNKNOWN!|PYTHON!)$", re.IGNORECASE)


def photo_cells(sheet: WorksheetIO, first: int, last: int, col: int) -> list[Cell | PhotoMissingError]:
    """Each row's photo (rows ``first`` to ``last`` of column ``col``) as the person sees it,
    or why there is none to look for (a web address, a formula never computed)."""
    if last < first:
        return []
    contents = [r[0] for r in sheet.read_block(first, col, last, col)]
    shown = [r[0] for r in sheet.read_shown(first, col, last, col)]
    links = sheet.links(first, col, last, col)
    refs: list[Cell | PhotoMissingError] = []
    for i, (content, value) in enumerate(zip(contents, shown)):
        formula = content if isinstance(content, str) and content.startswith("=") else None
        try:
            refs.append(photo_reference(value, formula, links.get((first + i, col))))
        except PhotoMissingError as exc:
            refs.append(exc)
    return refs


def photo_reference(shown: Cell, formula: Cell, link: str | None) -> Cell:
    """What the cell points to: a path (text), or None for an empty cell.

    ``shown`` is the cell's value (a formula's last computed value), ``formula`` the cell's
    content when it is a formula ("=..."), ``link`` the target of a hyperlink on the cell.
    Raises WebAddressError when it points to a web address, UnsavedFormulaError for a
    formula whose value was never computed and saved (a file no spreadsheet program saved).

    >>> photo_reference("meter 1", '=HYPERLINK("photos\\\\m1.jpg","meter 1")', None)
    'photos\\\\m1.jpg'
    >>> photo_reference("C:/p/m1.jpg", '=$G$2&"m1.jpg"', None)
    'C:/p/m1.jpg'
    >>> photo_reference("meter 1", None, "file:///home/ann/m%201.jpg")
    '/home/ann/m 1.jpg'
    """
    target: Cell = shown
    match = _HYPERLINK.match(formula) if isinstance(formula, str) else None
    if match:
        target = match.group(1).replace('""', '"')
    elif link:
        target = link
    elif formula and shown is None:
        raise UnsavedFormulaError(str(formula))
    if isinstance(target, str):
        text = target.strip()
        if target.lower().startswith("file:"):
            target = _file_uri_path(target)
        elif _WEB.match(target):
            raise WebAddressError(text)
        elif _ERROR.match(text):
            raise NotAPathError("error", text)
        elif text.lower().startswith("mailto:"):
            raise NotAPathError("email", text[len("mailto:"):])
        elif text.startswith("#") and len(text) > 1:  # Insert > Link > Place in This Document
            raise NotAPathError("place", text[1:])
    return target


def _file_uri_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.netloc and parsed.netloc.lower() != "localhost":  # file://server/share/m1.jpg
        return "\\\\" + parsed.netloc + url2pathname(parsed.path).replace("/", "\\")
    path = unquote(parsed.path)
    if re.match(r"^/[A-Za-z]:", path):  # file:///C:/photos/m1.jpg
        path = path[1:]
    return path
