"""Evidence pictures on drawn meters: the digit window comes out upright whatever the rotation."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageDraw

from xlwings_meter.evidence import digit_window, jpeg_bytes, row_angle, thumbnail
from xlwings_meter.reading import Quad

SIZE = (800, 600)
DIGITS = 6
RED, BLUE = (230, 20, 20), (20, 20, 230)


def _meter(angle: float) -> tuple[Image.Image, tuple[Quad, ...]]:
    """A photo of a digit row turned ``angle`` degrees clockwise on screen, first digit red, last
    blue, and the digit boxes as an engine reports them (normalised, first digit first)."""
    img = Image.new("RGB", SIZE, (200, 200, 190))
    draw = ImageDraw.Draw(img)
    cx, cy, cell_w, cell_h = 400, 300, 40, 60
    a = math.radians(angle)

    def on_screen(dx: float, dy: float) -> tuple[float, float]:
        return (cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a))

    boxes = []
    for i in range(DIGITS):
        x0 = (i - DIGITS / 2) * cell_w
        corners = [on_screen(x0 + 4, -cell_h / 2), on_screen(x0 + cell_w - 4, -cell_h / 2),
                   on_screen(x0 + cell_w - 4, cell_h / 2), on_screen(x0 + 4, cell_h / 2)]
        colour = RED if i == 0 else BLUE if i == DIGITS - 1 else (30, 30, 30)
        draw.polygon(corners, fill=colour)
        boxes.append(tuple((x / SIZE[0], y / SIZE[1]) for x, y in corners))
    return img, tuple(boxes)  # type: ignore[return-value]


def _share(img: Image.Image, colour: tuple[int, int, int], left: bool) -> float:
    """How much of ``colour`` lies in the left (or right) third of ``img``."""
    w = img.width
    half = img.crop((0, 0, w // 3, img.height)) if left else img.crop((w - w // 3, 0, w, img.height))
    px = half.load()
    near = sum(1 for x in range(half.width) for y in range(half.height)
               if sum(abs(c - k) for c, k in zip(px[x, y], colour)) < 120)
    return near / (half.width * half.height)


@pytest.mark.parametrize("angle", [0.0, 37.0, 90.0, 180.0, -120.0])
def test_the_digit_window_is_cut_and_turned_so_the_first_digit_is_on_the_left(angle: float) -> None:
    img, boxes = _meter(angle)
    window = digit_window(img, boxes, angle)
    assert window is not None and window.height == 40
    assert window.width > 2.5 * window.height  # a row of digits, not a tilted square around it
    assert _share(window, RED, left=True) > 0.15 and _share(window, RED, left=False) < 0.02
    assert _share(window, BLUE, left=False) > 0.15 and _share(window, BLUE, left=True) < 0.02


def test_without_an_angle_the_boxes_give_it() -> None:
    img, boxes = _meter(63.0)
    assert row_angle(boxes, img.size) == pytest.approx(63.0, abs=0.5)
    window = digit_window(img, boxes, None)
    assert window is not None and _share(window, RED, left=True) > 0.15


def test_no_boxes_no_window_and_the_pictures_are_small() -> None:
    img, boxes = _meter(10.0)
    assert digit_window(img, (), 10.0) is None
    thumb = thumbnail(img)
    assert max(thumb.size) == 120
    window = digit_window(img, boxes, 10.0)
    assert window is not None
    for picture in (thumb, window):
        data = jpeg_bytes(picture)
        assert Image.open(io.BytesIO(data)).format == "JPEG" and len(data) < 6000


def test_boxes_far_off_the_photo_give_no_window() -> None:
    """Pixels in the normalised boxes (a reply cached before they were checked) made a window
    of thousands of photos' size: the Review sheet failed on every run."""
    img, _ = _meter(0.0)
    pixels = ((412.0, 380.0), (440.0, 380.0), (440.0, 420.0), (412.0, 420.0))
    assert digit_window(img, (pixels,), 0.0) is None


def test_a_window_at_the_edge_of_the_photo_is_still_cut() -> None:
    img, boxes = _meter(0.0)
    shifted = tuple(tuple((x - 0.45, y) for x, y in q) for q in boxes)  # half the row off the left edge
    window = digit_window(img, shifted, 0.0)  # type: ignore[arg-type]
    assert window is not None and window.height == 40
