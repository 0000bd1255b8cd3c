"""Joining a text detector's boxes into rows (pure geometry, no models)."""

from __future__ import annotations

import pytest

cv2 = pytest.importorskip("cv2")

import numpy as np

from xlwings_meter.engines.local.rows import rows_from_text_boxes


def box(cx: float, cy: float, length: float, height: float, angle: float) -> np.ndarray:
    return cv2.boxPoints(((cx, cy), (length, height), angle)).astype(np.float32)


def test_a_counter_split_in_two_on_its_line_is_joined() -> None:
    rows = rows_from_text_boxes(np.array([box(200, 300, 180, 60, 0), box(350, 302, 100, 60, 0)]))
    assert len(rows) == 1
    assert rows[0].length == pytest.approx(290, abs=5)  # from x = 110 to 400


def test_a_label_standing_across_a_counters_end_does_not_swallow_it() -> None:
    """nohn_demo turned upside down: the detector boxed a label at 70 degrees beside the
    counter's end; joined, the two made one row too fat to be a counter, and it was lost."""
    counter = box(450, 396, 345, 89, 2)
    label = box(640, 400, 129, 95, -71)
    rows = rows_from_text_boxes(np.array([counter, label]))
    assert any(abs(r.cx - 450) < 5 and abs(r.length - 345) < 5 for r in rows)
