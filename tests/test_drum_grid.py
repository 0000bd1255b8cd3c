"""Which classified cells are a counter's drums: the spacing rule (pure, no models)."""

from __future__ import annotations

import pytest

pytest.importorskip("cv2")

from xlwings_meter.engines.local.drums import on_grid


def test_a_leading_zero_beside_a_narrow_one_is_kept() -> None:
    """01189 on white drums: the 1s' ink sits right of their drums' middles, so centred on the
    ink the cells lie 19, 28, 32, 27 pixels apart while the drums are 24 apart."""
    xs = [55.0, 74.0, 102.0, 134.0, 161.0]
    assert on_grid(xs, [0, 1, 2, 3, 4], pitch=24.0) == [0, 1, 2, 3, 4]


def test_a_frame_edge_close_before_the_first_drum_is_not_a_drum() -> None:
    xs = [40.0, 52.0, 76.0, 100.0, 124.0, 148.0]
    assert on_grid(xs, [0, 1, 2, 3, 4, 5], pitch=24.0) == [1, 2, 3, 4, 5]
