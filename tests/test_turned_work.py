"""Digit boxes found in a working image turned by quarter turns, put back in the photo."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("cv2")

from xlwings_meter.engines.local.pipeline import _unturned


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_a_point_in_the_turned_image_is_put_back_where_it_was(turns) -> None:
    image = np.zeros((30, 50), np.uint8)  # 30 rows, 50 columns
    image[7, 41] = 255  # the pixel whose centre is (41.5, 7.5)
    turned = np.rot90(image, turns)
    y, x = (int(v) for v in np.argwhere(turned == 255)[0])
    quad = np.array([[x + 0.5, y + 0.5]] * 4)
    (back,), shape = _unturned([quad], turns, turned.shape)
    assert shape == image.shape
    assert np.allclose(back[0], [41.5, 7.5])
