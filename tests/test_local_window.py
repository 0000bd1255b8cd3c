"""The counter-window finder: the map's arithmetic, and the shipped network on generated
photos it never saw (white and dark drums, any rotation)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
cv2 = pytest.importorskip("cv2")

from xlwings_meter.demo.synth import PhotoConditions, generate_meter_photo
from xlwings_meter.engines.local.geometry import Row
from xlwings_meter.engines.local.window import SIDE, STRIDE, WindowFinder, WindowMap

CELLS = SIDE // STRIDE


def map_with_block(x0: int, x1: int, y0: int, y1: int) -> WindowMap:
    probs = np.zeros((CELLS, CELLS), np.float32)
    probs[y0:y1, x0:x1] = 0.95
    return WindowMap(probs, scale=0.1)  # 10 image pixels a cell


def test_a_block_of_the_map_is_a_row_along_its_long_side() -> None:
    rows = map_with_block(10, 30, 20, 24).rows()
    assert len(rows) == 1
    row = rows[0]
    assert row.source == "net"
    assert abs(row.cx - 200) < 1 and abs(row.cy - 220) < 1
    assert abs(row.length - 200) < 1 and abs(row.height - 40) < 1
    assert abs(row.angle) < 1


def test_a_round_blob_is_no_row() -> None:
    assert map_with_block(10, 14, 20, 24).rows() == []


def test_cover_tells_a_row_on_the_window_from_one_off_it() -> None:
    wmap = map_with_block(10, 30, 20, 24)
    on = Row(200.0, 220.0, 180.0, 30.0, 0.0, "text")
    below = Row(200.0, 330.0, 180.0, 30.0, 0.0, "text")  # a serial number under the counter
    across = Row(200.0, 220.0, 180.0, 30.0, 90.0, "text")
    assert wmap.cover(on) > 0.9
    assert wmap.cover(below) == 0.0
    assert wmap.cover(across) < 0.3


@pytest.fixture(scope="module")
def finder() -> WindowFinder:
    import onnxruntime

    return WindowFinder(onnxruntime, threads=1)


@pytest.mark.parametrize("style", ["white", "dark"])
@pytest.mark.parametrize("rotation", [0.0, 180.0, 60.0, -120.0])
def test_finds_the_counter_of_a_generated_meter(finder, style, rotation) -> None:
    """The largest row the network finds lies along the drums, on their middle."""
    conditions = PhotoConditions(rotation=rotation, drums=style, perspective=0.2)
    synth = generate_meter_photo(900 + int(rotation), conditions)
    bgr = cv2.imdecode(np.frombuffer(synth.data, np.uint8), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    rows = finder.find(bgr).rows()
    assert rows
    row = rows[0]
    centres = np.array([np.mean(q, axis=0) for q in synth.truth.boxes]) * [w, h]
    middle = centres.mean(0)
    drum_pitch = float(np.linalg.norm(centres[1] - centres[0]))
    assert np.linalg.norm(middle - [row.cx, row.cy]) < 1.5 * drum_pitch
    axis = abs((row.angle - synth.truth.angle + 90) % 180 - 90)  # a row has no direction
    assert axis < 15
