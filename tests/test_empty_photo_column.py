"""An Image header over no photo paths is refused, as README says of an empty photo column:
one line, nothing written (not a silent "0 rows" run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlwings_meter.errors import EmptyPhotoColumnError
from xlwings_meter.workbook.cache import CACHE_SHEET
from xlwings_meter.workbook.job import read_sheet


def test_an_image_header_with_no_photos_is_refused_and_nothing_is_written(
        backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    backend.create([], header=("Image", "Value", "Confidence", "Angle", "Status"))
    with pytest.raises(EmptyPhotoColumnError, match="column A of sheet .* is empty"):
        read_sheet(backend.reopen(), None)
    assert CACHE_SHEET not in backend.book.sheet_names()
