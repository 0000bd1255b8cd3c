"""Finding candidate counters (*rows*): blocks of dark and red drums, and lines of text found
by the text detector, joined where a counter was split.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from xlwings_meter.engines.local.colours import dark_mask, red_mask
from xlwings_meter.engines.local.geometry import Row, row_from_points

#: A text box at least this many times as long as it is tall has an axis of its own.
_AXIS = 1.3
#: Two text boxes that each have an axis lie on one line only if their axes differ by at most
#: this (degrees).
_MAX_TURN = 20.0


def find_windows(bgr: np.ndarray) -> list[Row]:
    """Blocks of dark and red drums: the counter windows of most meters, at any angle.

    A window is a long, filled, dark-or-red rectangle; the white digits inside it are holes that
    an outer contour ignores.
    """
    h, w = bgr.shape[:2]
    mask = (dark_mask(bgr) | red_mask(bgr)).astype(np.uint8) * 255
    k = max(3, round(max(h, w) / 160))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    rows = []
    min_area = 0.002 * h * w
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < min_area:
            continue
        row = row_from_points(contour.reshape(-1, 2).astype(np.float32), "window")
        ratio = row.length / max(row.height, 1.0)
        if 1.8 <= ratio <= 14 and area / (row.length * row.height) > 0.6:
            rows.append(row)
    return rows


def rows_from_text_boxes(boxes: np.ndarray) -> list[Row]:
    """Join a text detector's boxes (N x 4 x 2) that sit on one line into rows.

    Text detectors often split a counter at the gaps between drums or where the colour turns
    red; boxes of similar height whose centres lie on each other's axis belong together.
    """
    parts = [row_from_points(np.asarray(b, np.float32), "text") for b in boxes]
    parent = list(range(len(parts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(parts):
        for j in range(i + 1, len(parts)):
            if _same_line(a, parts[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list[np.ndarray]] = {}
    for i, box in enumerate(boxes):
        groups.setdefault(root(i), []).append(np.asarray(box, np.float32))
    rows = []
    for members in groups.values():
        row = row_from_points(np.concatenate(members), "text")
        if row.length >= 2.0 * row.height:
            rows.append(row)
    return rows


def joined_pairs(rows: list[Row]) -> list[Row]:
    """Rows made of two neighbouring rows on one line, as extra candidates: a text detector
    often splits a counter where black drums give way to red ones, whose digits differ in
    height and colour more than ``rows_from_text_boxes`` allows."""
    out = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            turn = _turn(a.angle, b.angle)
            hi = max(a.height, b.height)
            if turn > 6 or hi > 1.6 * min(a.height, b.height):
                continue
            r = math.radians(a.angle if a.length >= b.length else b.angle)
            dx, dy = b.cx - a.cx, b.cy - a.cy
            along = abs(dx * math.cos(r) + dy * math.sin(r))
            across = abs(-dx * math.sin(r) + dy * math.cos(r))
            if across < 0.3 * hi and along - (a.length + b.length) / 2 < 1.0 * hi:
                joined = row_from_points(np.concatenate([_corners(c) for c in (a, b)]), "text")
                if joined.length <= 15 * joined.height:
                    out.append(joined)
    return out


def merge_rows(windows: list[Row], texts: list[Row]) -> list[Row]:
    """Windows stretched over the text rows that overlap them, then the other text rows.

    A text detector often returns a counter in pieces, and a window found by colour can lose
    an end to glare: a piece read alone gives a confident but short value, so pieces along a
    window are dropped and the window is stretched (along its own axis) to cover them.
    """
    merged, used = [], set()
    for window in windows:
        a = math.radians(window.angle)
        u = np.array([math.cos(a), math.sin(a)])
        lo, hi = -window.length / 2, window.length / 2
        for i, text in enumerate(texts):
            if _along(window, text):
                used.add(i)
                ends = (np.array([text.cx, text.cy]) - [window.cx, window.cy]) @ u
                lo, hi = min(lo, ends - text.length / 2), max(hi, ends + text.length / 2)
        centre = np.array([window.cx, window.cy]) + u * (lo + hi) / 2
        merged.append(
            Row(
                float(centre[0]),
                float(centre[1]),
                float(hi - lo),
                window.height,
                window.angle,
                "window",
            )
        )
    return merged + [t for i, t in enumerate(texts) if i not in used]


def _along(window: Row, text: Row) -> bool:
    """Whether ``text`` is a piece of the window's row: same line, digit-high, overlapping."""
    turn = _turn(text.angle, window.angle)
    if turn > 12 or not 0.5 * window.height <= text.height <= 1.3 * window.height:
        return False
    a = math.radians(window.angle)
    dx, dy = text.cx - window.cx, text.cy - window.cy
    along = abs(dx * math.cos(a) + dy * math.sin(a))
    across = abs(-dx * math.sin(a) + dy * math.cos(a))
    return across < 0.3 * window.height and along < (window.length + text.length) / 2


def has_axis(row: Row) -> bool:
    """Whether a text box is long enough (``_AXIS`` times its height) to have an axis of its
    own; a square one (a single digit) has none."""
    return row.length >= _AXIS * row.height


def _same_line(a: Row, b: Row) -> bool:
    hi, lo = max(a.height, b.height), min(a.height, b.height)
    if hi > 1.6 * lo:
        return False
    dx, dy = b.cx - a.cx, b.cy - a.cy
    dist = math.hypot(dx, dy)
    # Two boxes each with an axis of its own lie on one line only if the axes agree: a dial's
    # figures or a label standing across a counter's end is no part of it (upside down, the
    # detector boxed such a label beside nohn_demo's counter, and the two made one fat row).
    if has_axis(a) and has_axis(b) and _turn(a.angle, b.angle) > _MAX_TURN:
        return False
    # Use the axis of the longer box; a square box (one digit) has no axis of its own.
    axis = a if a.length / a.height >= b.length / b.height else b
    axis_deg = axis.angle if has_axis(axis) else math.degrees(math.atan2(dy, dx))
    u = (math.cos(math.radians(axis_deg)), math.sin(math.radians(axis_deg)))
    along, across = abs(dx * u[0] + dy * u[1]), abs(-dx * u[1] + dy * u[0])
    gap = along - (a.length + b.length) / 2 if dist else 0.0
    return across < 0.35 * hi and gap < 1.2 * hi


def _turn(a: float, b: float) -> float:
    """The angle between two axes, in degrees (0 to 90)."""
    return abs((b - a + 90) % 180 - 90)


def _corners(row: Row) -> np.ndarray:
    return cv2.boxPoints(((row.cx, row.cy), (row.length, row.height), row.angle)).astype(np.float32)
