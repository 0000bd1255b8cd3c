"""Straightening: candidate rows (rotated rectangles) cut out of a photo as level strips, and
strip positions mapped back to the photo.

Coordinates are pixels of the image handed in, x to the right, y down. A *row* is a counter
candidate whose long side runs along the digits; a *strip* is a row cut out at ``REC_HEIGHT``
pixels high in one reading direction (each row is cut both ways, since a photo may be upside
down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

#: Height of the recogniser's input: PP-OCR recognisers take 48-pixel-high text lines, and
#: emit one column of character probabilities per 8 pixels of width.
REC_HEIGHT = 48


REC_STRIDE = 8


@dataclass(frozen=True)
class Row:
    """A candidate counter: a rotated rectangle, ``angle`` along its long side (degrees)."""

    cx: float
    cy: float
    length: float
    height: float
    angle: float
    # "window": a block of dark and red drums; "text": detected text boxes in line; "net": the
    # window network's blob; "tight": such a blob cut down to its digits (``tightened``).
    source: str


@dataclass(frozen=True)
class Strip:
    """A row cut out and straightened to ``REC_HEIGHT``, read left to right along ``angle``.

    ``to_image`` maps strip pixels back to image pixels (a 2x3 affine matrix).
    """

    pixels: np.ndarray  # BGR, REC_HEIGHT high
    angle: float
    to_image: np.ndarray
    row: Row
    margin: float  # strip pixels on each end that lie outside the row


def row_from_points(points: np.ndarray, source: str) -> Row:
    """The smallest rotated rectangle around ``points``, its angle along the long side."""
    (cx, cy), (w, h), angle = cv2.minAreaRect(points)
    if w < h:
        w, h, angle = h, w, angle + 90.0
    angle = (angle + 90.0) % 180.0 - 90.0  # the axis, as a line: (-90, 90]
    return Row(float(cx), float(cy), float(w), float(h), float(angle), source)


def cut_strips(
    bgr: np.ndarray, row: Row, squeeze: float = 1.0, max_width: int = 1200
) -> list[Strip]:
    """The row straightened to ``REC_HEIGHT`` pixels, once in each reading direction.

    ``squeeze`` < 1 narrows the strip: a window seen at a slant comes out too short for its
    width, and the recogniser then reads each of its broad digits twice.
    """
    margin_y = 0.08 * row.height
    # Reach about one drum past each end: a text detector's box often stops short of a drum
    # caught between two digits, and a window found by colour may have lost an end to glare.
    margin_x = 0.8 * row.height
    src_w, src_h = row.length + 2 * margin_x, row.height + 2 * margin_y
    scale = REC_HEIGHT / src_h
    out_w = int(min(max_width, max(REC_HEIGHT, round(src_w * scale * squeeze))))
    strips = []
    for angle in (row.angle, row.angle + 180.0 if row.angle <= 0 else row.angle - 180.0):
        a = math.radians(angle)
        u = np.array([math.cos(a), math.sin(a)])  # along the row, reading direction
        v = np.array([-u[1], u[0]])  # down the digits
        origin = np.array([row.cx, row.cy]) - u * src_w / 2 - v * src_h / 2
        to_image = np.column_stack([u * src_w / out_w, v * src_h / REC_HEIGHT, origin])
        pixels = cv2.warpAffine(
            bgr,
            to_image,
            (out_w, REC_HEIGHT),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        strips.append(Strip(pixels, angle, to_image, row, margin_x * out_w / src_w))
    return strips


def batch_for_recogniser(strips: list[Strip]) -> np.ndarray:
    """Normalised NCHW float32 batch of strips of one width."""
    width = strips[0].pixels.shape[1]
    batch = np.zeros((len(strips), 3, REC_HEIGHT, width), np.float32)
    for i, s in enumerate(strips):
        img = s.pixels.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
        batch[i, :, :, : img.shape[2]] = img
    return batch


def shifted_strip(bgr: np.ndarray, strip: Strip, shift: float) -> Strip:
    """``strip`` cut again ``shift`` strip heights further down the digits (up if negative)."""
    to_image = strip.to_image.copy()
    to_image[:, 2] += to_image[:, 1] * shift * REC_HEIGHT
    pixels = cv2.warpAffine(
        bgr,
        to_image,
        (strip.pixels.shape[1], REC_HEIGHT),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return replace(strip, pixels=pixels, to_image=to_image)


def digit_quads(strip: Strip, xs: list[float], pitch: float) -> list[np.ndarray]:
    """Each digit's quadrilateral in image pixels, for digits centred at strip columns ``xs``:
    top-left, top-right, bottom-right, bottom-left in the digit's own frame (as the API's
    ``bboxes_rotated``)."""
    half = 0.45 * pitch
    y0, y1 = 0.08 * REC_HEIGHT / 1.16, REC_HEIGHT - 0.08 * REC_HEIGHT / 1.16
    quads = []
    for x in xs:
        pts = np.array([[x - half, y0, 1], [x + half, y0, 1], [x + half, y1, 1], [x - half, y1, 1]])
        quads.append(pts @ strip.to_image.T)
    return quads


def row_angle(quads: list[np.ndarray]) -> float:
    """Direction from the first to the last digit: degrees from the image's x axis towards its
    y axis (clockwise on screen), in (-180, 180]; the API's ``angle`` convention."""
    (x0, y0), (x1, y1) = quads[0].mean(0), quads[-1].mean(0)
    if len(quads) == 1:
        (x0, y0), (x1, y1) = quads[0][0], quads[0][1]
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    return 180.0 if angle == -180.0 else angle


#: A row is cut again to its digits where that makes it less than this share of its height.
_LOOSE = 0.75
#: The digit band's rows are those whose edge energy is at least this share of the peak's.
_BAND = 0.4


def tightened(strip: Strip, xs: list[float], pitch: float) -> Row | None:
    """The row of ``strip`` cut down to the band its digits (at columns ``xs``) fill, or None
    where they fill it already.

    A window found by the network, or a padded text box, can be twice as tall as its drums:
    the recogniser then sees small digits among frame edges and labels, reads some twice and
    frame edges as more. The digits' band is where the vertical strokes are: the rows of the
    strip, between the first and last digit, with the most horizontal change.
    """
    if len(xs) < 2:
        return None
    grey = cv2.cvtColor(strip.pixels, cv2.COLOR_BGR2GRAY).astype(np.float32)
    x0 = max(0, round(min(xs) - 0.5 * pitch))
    x1 = min(grey.shape[1], round(max(xs) + 0.5 * pitch))
    if x1 - x0 < 2:
        return None
    energy = np.abs(np.diff(grey[:, x0:x1], axis=1)).mean(1)
    energy = np.convolve(energy, np.ones(3) / 3, mode="same")
    base, peak = float(np.percentile(energy, 10)), int(energy.argmax())
    lo, hi = run_around(energy >= base + _BAND * (float(energy[peak]) - base), peak)
    height = 1.15 * (hi - lo + 1) * float(np.hypot(*strip.to_image[:, 1]))
    if height >= _LOOSE * strip.row.height:
        return None
    # Only the height changes: digits the first reading missed may lie past its ends.
    mid = strip.pixels.shape[1] / 2
    cx, cy = strip.to_image @ np.array([mid, (lo + hi + 1) / 2, 1.0])
    row = strip.row
    return Row(float(cx), float(cy), row.length, height, row.angle, row.source)


def run_around(mask: np.ndarray, i: int) -> tuple[int, int]:
    """The first and last index of the run of true values in ``mask`` that holds ``i``
    (``mask[i]`` must be true)."""
    lo = hi = i
    while lo > 0 and mask[lo - 1]:
        lo -= 1
    while hi < len(mask) - 1 and mask[hi + 1]:
        hi += 1
    return lo, hi
