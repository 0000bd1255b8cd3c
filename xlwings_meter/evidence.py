"""Evidence pictures: the counter's digit window cut from a photo and turned upright, and a
small thumbnail of the whole photo, so a person can check a reading by eye in a second.

Pure image work on Pillow images; where the pictures go (a sheet, a Review sheet) is the
workbook's business.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image

from xlwings_meter.reading import Quad

#: Height of a digit-window picture and long side of a thumbnail, in pixels: enough to read the
#: digits, small enough that a 200-row workbook stays small.
WINDOW_HEIGHT = 40
THUMB_SIDE = 120
JPEG_QUALITY = 80
_MARGIN = 0.25  # of the digit height, around the digits: a little of the drums' edges


def digit_window(image: Image.Image, boxes: Sequence[Quad], angle: float | None = None,
                 height: int = WINDOW_HEIGHT) -> Image.Image | None:
    """The digit window cut from ``image`` and turned so the digits read left to right.

    ``boxes`` are the digit quadrilaterals, normalised 0..1 to the photo, first digit first;
    ``angle`` is the row's angle in the API's convention (clockwise on screen from the x axis,
    first digit to last); without it, the angle is taken from the boxes. None without boxes,
    or with boxes far off the photo.
    """
    # Corners far off the photo are no normalised boxes (pixels, from a reading cached before
    # they were checked): the window would be vast.
    if not boxes or not all(-1 <= c <= 2 for quad in boxes for point in quad for c in point):
        return None
    w, h = image.size
    points = [(x * w, y * h) for quad in boxes for x, y in quad]
    theta = angle if angle is not None and math.isfinite(angle) else row_angle(boxes, (w, h))
    cx = sum(x for x, _ in points) / len(points)
    cy = sum(y for _, y in points) / len(points)
    radius = max(math.hypot(x - cx, y - cy) for x, y in points) * (1 + _MARGIN) + 2
    # Only the neighbourhood of the digits is turned: cheap on a 12-megapixel photo.
    left, top = round(cx - radius), round(cy - radius)
    region = image.crop((left, top, left + round(2 * radius), top + round(2 * radius))).convert("RGB")
    # Turning costs with the area: shrink first (by whole factors, averaging) to twice the
    # window's height, which keeps the digits as sharp as the window can show them.
    digits = max(math.hypot((q[3][0] - q[0][0]) * w, (q[3][1] - q[0][1]) * h) for q in boxes)
    k = max(1, int(digits * (1 + 2 * _MARGIN) / (2 * height)))
    if k > 1:
        region = region.reduce(k)
    centre = ((cx - left) / k, (cy - top) / k)
    upright = region.rotate(theta, resample=Image.Resampling.BICUBIC, center=centre, fillcolor="white")
    turned = [_rotate_point((x - left) / k, (y - top) / k, centre, theta) for x, y in points]
    xs, ys = [x for x, _ in turned], [y for _, y in turned]
    pad = (max(ys) - min(ys)) * _MARGIN
    window = upright.crop((round(min(xs) - pad), round(min(ys) - pad),
                           round(max(xs) + pad), round(max(ys) + pad)))
    scale = height / max(window.height, 1)
    return window.resize((max(1, round(window.width * scale)), height), Image.Resampling.LANCZOS)


def thumbnail(image: Image.Image, side: int = THUMB_SIDE) -> Image.Image:
    """The whole photo, its long side ``side`` pixels."""
    thumb = image.convert("RGB")
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    return thumb


def jpeg_bytes(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """``image`` as a small JPEG, as it is embedded in a workbook."""
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def row_angle(boxes: Sequence[Quad], size: tuple[int, int]) -> float:
    """The angle from the first digit's centre to the last's, in degrees, clockwise on screen.

    >>> row_angle([((0, 0), (0.1, 0), (0.1, 0.1), (0, 0.1)), ((0, 0.5), (0.1, 0.5), (0.1, 0.6), (0, 0.6))], (100, 100))
    90.0
    """
    (x0, y0), (x1, y1) = (_centre(boxes[0], size), _centre(boxes[-1], size))
    return 0.0 if (x0, y0) == (x1, y1) else math.degrees(math.atan2(y1 - y0, x1 - x0))


def _centre(quad: Quad, size: tuple[int, int]) -> tuple[float, float]:
    w, h = size
    return (sum(x for x, _ in quad) * w / 4, sum(y for _, y in quad) * h / 4)


def _rotate_point(x: float, y: float, centre: tuple[float, float], degrees: float) -> tuple[float, float]:
    """Where ``Image.rotate(degrees, center=centre)`` (counter-clockwise on screen) moves (x, y)."""
    a = math.radians(degrees)
    dx, dy = x - centre[0], y - centre[1]
    return (centre[0] + dx * math.cos(a) + dy * math.sin(a), centre[1] - dx * math.sin(a) + dy * math.cos(a))
