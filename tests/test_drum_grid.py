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


def test_a_last_drum_caught_mid_roll_is_kept_where_the_recogniser_read_it_a_drum_away() -> None:
    """00088.795: the last drum shows half a 5 and half a 6, its ink off-centre, so its cell
    lies 18 pixels from its neighbour's while drums are 24 to 30 apart. The recogniser read
    its digit a whole drum away from the one before."""
    xs = [56.0, 83.0, 109.0, 129.0, 159.0, 176.0, 212.0, 230.0]
    read_at: list[float | None] = [52.0, 84.0, 108.0, 132.0, 156.0, 180.0, 212.0, 236.0]
    assert on_grid(xs, list(range(8)), 24.0, read_at) == list(range(8))
    # A cell that close which the recogniser read nothing at (a frame edge) is no drum.
    assert on_grid(xs, list(range(8)), 24.0, read_at[:-1] + [None]) == list(range(7))
