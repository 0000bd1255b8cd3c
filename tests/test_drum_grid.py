"""Which classified cells are a counter's drums: the spacing rule (pure, no models)."""

from __future__ import annotations

import pytest

cv2 = pytest.importorskip("cv2")

import numpy as np

from xlwings_meter.engines.local.drums import on_grid, periodic_cells


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


def _drum_strip(pitch: float, n: int, margin: int = 30) -> tuple[np.ndarray, list[float]]:
    """A straightened strip (48 px, BGR) of n light drums with dark digits, ``pitch`` apart."""
    width = round(2 * margin + n * pitch)
    strip = np.full((48, width, 3), 90, np.uint8)  # the window's dark frame between drums
    centres = []
    for i in range(n):
        cx = margin + (i + 0.5) * pitch
        centres.append(cx)
        cv2.rectangle(strip, (round(cx - 0.42 * pitch), 4), (round(cx + 0.42 * pitch), 43), (235, 235, 235), -1)
        cv2.putText(strip, str((3 * i + 1) % 10), (round(cx - 0.3 * pitch), 36),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2)
    return strip, centres


@pytest.mark.parametrize("pitch", [19.0, 27.5, 36.0])
def test_drum_cells_are_found_where_the_ink_repeats(pitch: float) -> None:
    strip, centres = _drum_strip(pitch, 7)

    found = periodic_cells(strip, margin=30)

    assert found is not None
    xs, spacing = found
    assert abs(spacing - pitch) < 0.6
    assert len(xs) == 7
    assert max(abs(x - c) for x, c in zip(xs, centres, strict=True)) < 0.2 * pitch


def test_a_strip_whose_ink_does_not_repeat_has_no_cells() -> None:
    one = np.full((48, 300, 3), 235, np.uint8)
    cv2.putText(one, "8", (140, 34), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    assert periodic_cells(one, margin=0) is None
    assert periodic_cells(np.full((48, 300, 3), 200, np.uint8), margin=0) is None
    assert periodic_cells(np.full((48, 40, 3), 200, np.uint8), margin=0) is None  # too short
