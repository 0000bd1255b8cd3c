"""Which result rows a person changed, so the tool leaves them alone (pure).

The tool writes either a reading (Value, Confidence, Angle, and no Status) or a reason
(only Status). A row is still the tool's own when its cells are empty, when they hold a
reading the cache knows (the same value, confidence and angle), or when they hold only a
Status whose text is exactly one the tool wrote into this workbook (``written.WrittenStatuses``):
never judged by how a text begins, since a person's note may begin like a message. Anything
else (a corrected number, a note in Status, a value or text typed into an empty row) is a
person's, and wins: it is never overwritten.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence

from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.sheet import Cell

Fingerprint = tuple[float | None, float | None, float | None]

#: The sample reading in the example row of the workbook template (template/spec.py): the
#: tool's own text, to be replaced by the first real reading of that row.
TEMPLATE_EXAMPLE = (935.781, 0.93, 1.5)


def fingerprints(readings: Iterable[Reading]) -> set[Fingerprint]:
    """(value, confidence, angle) of every reading, as the result cells hold them."""
    found = set()
    for r in readings:
        if r.status is ReadingStatus.READ and r.number is not None:
            found.add(_key(r.number, r.confidence, r.angle))
    return found


def is_tool_row(cells: Sequence[Cell], known: set[Fingerprint], statuses: Collection[str] = ()) -> bool:
    """True when the four result cells are empty or hold what the tool wrote: a reading in
    ``known``, or only a Status text in ``statuses`` (the texts the tool wrote there)."""
    value, confidence, angle, status = (list(cells) + [None] * 4)[:4]
    numbers = (value, confidence, angle)
    if all(_empty(v) for v in numbers):
        return _empty(status) or (isinstance(status, str) and status in statuses)
    # Confidence and angle are optional in a reply: the tool leaves them empty when absent.
    return _empty(status) and holds_reading(numbers, known)


def holds_reading(cells: Sequence[Cell], known: set[Fingerprint]) -> bool:
    """True when Value, Confidence and Angle hold a reading in ``known`` as the tool wrote it."""
    value, confidence, angle = (list(cells) + [None] * 3)[:3]
    if not _is_number(value) or not all(_is_number(v) or _empty(v) for v in (confidence, angle)):
        return False
    key = _key(value, None if _empty(confidence) else confidence,  # type: ignore[arg-type]
               None if _empty(angle) else angle)  # type: ignore[arg-type]
    return key in known or key == _key(*TEMPLATE_EXAMPLE)


def _key(value: float, confidence: float | None, angle: float | None) -> Fingerprint:
    return tuple(float(f"{float(x):.9g}") if x is not None and math.isfinite(float(x)) else None
                 for x in (value, confidence, angle))  # type: ignore[return-value]


def _empty(v: Cell) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _is_number(v: Cell) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def shows(cells: Sequence[Cell], reading: Reading) -> bool:
    """True when result cells (Value, Confidence, Angle) show ``reading`` as the tool wrote it."""
    value, confidence, angle = (list(cells) + [None] * 3)[:3]
    if not _is_number(value):
        return False
    key = _key(value, None if _empty(confidence) else confidence,  # type: ignore[arg-type]
               None if _empty(angle) else angle)  # type: ignore[arg-type]
    return key in fingerprints([reading])
