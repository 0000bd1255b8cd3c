"""Photos are prepared one per core while the others are in flight: the cores never hold up
the network, and the network never waits for a pile of photos decoded all at once."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from tests.workbooks import photo_book
from xlwings_meter import photos
from xlwings_meter.engines.aigen.client import AigenEngine
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.workbook import batch
from xlwings_meter.workbook.cache import CACHE_SHEET, ReadingCache
from xlwings_meter.workbook.files import FileBook


def _patient(settings: ClientSettings) -> ClientSettings:
    """The test settings, with a read timeout no busy moment of the machine reaches: these
    tests count uploads, and a reply 0.25 s late against fast_settings' 0.3 s was retried once
    on a loaded CI machine (13 uploads for 12 photos)."""
    return replace(settings, read_timeout=5.0)


def test_at_most_one_photo_per_core_is_prepared_while_every_worker_has_one_in_flight(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = [make_photo(tmp_path / f"m{i}.jpg", seed=i, size=(1200, 900)).name for i in range(12)]
    aigen_server.default = Reply.success().delayed(0.25)
    monkeypatch.setattr(batch, "PREPARE_AT_ONCE", 2)
    preparing = most = 0
    lock = threading.Lock()

    def counted_load(*args: object, **kwargs: object) -> photos.Photo:
        nonlocal preparing, most
        with lock:
            preparing += 1
            most = max(most, preparing)
        try:
            return photos.load_photo(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                preparing -= 1

    monkeypatch.setattr(batch, "load_photo", counted_load)
    cache = ReadingCache(FileBook(photo_book(tmp_path / "b.xlsx", [])).hidden_sheet(CACHE_SHEET))

    result = batch.read_photos(cells, tmp_path, AigenEngine(_patient(fast_settings)), cache, concurrency=6)

    assert result.uploads == 12
    assert most == 2  # never more photos decoded at once than cores
    assert aigen_server.max_in_flight == 6  # while the other workers wait on their replies


def test_photos_go_out_while_later_ones_are_prepared_and_few_wait_prepared(
    tmp_path: Path, aigen_server: FakeAigen, fast_settings: ClientSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pipeline, not "prepare all, then send": the order of events the service sees against
    # the order the photos were prepared in, whatever the speed of the machine.
    cells = [make_photo(tmp_path / f"m{i}.jpg", seed=i, size=(1200, 900)).name for i in range(12)]
    aigen_server.default = Reply.success().delayed(0.1)
    monkeypatch.setattr(batch, "PREPARE_AT_ONCE", 2)
    started: list[float] = []
    prepared: list[float] = []
    lock = threading.Lock()

    def timed_load(*args: object, **kwargs: object) -> photos.Photo:
        with lock:
            started.append(time.monotonic())
        photo = photos.load_photo(*args, **kwargs)  # type: ignore[arg-type]
        with lock:
            prepared.append(time.monotonic())
        return photo

    monkeypatch.setattr(batch, "load_photo", timed_load)
    cache = ReadingCache(FileBook(photo_book(tmp_path / "b.xlsx", [])).hidden_sheet(CACHE_SHEET))

    result = batch.read_photos(cells, tmp_path, AigenEngine(_patient(fast_settings)), cache, concurrency=3)

    assert result.uploads == 12
    arrived = sorted(call.at for call in aigen_server.calls)  # time.monotonic() of this process
    assert arrived[0] < max(started)  # the first photo reached the service before the last was opened
    for moment in prepared:  # photos prepared and not yet sent: at most one per worker
        waiting = sum(t <= moment for t in prepared) - sum(t <= moment for t in arrived)
        assert waiting <= 3


class _CountingReads:
    """A photo file that notes the size of every read Pillow makes of it."""

    def __init__(self, fh: io.BufferedReader, sizes: list[int]) -> None:
        self._fh = fh
        self._sizes = sizes

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self._sizes.append(len(data))
        return data

    def __getattr__(self, name: str) -> object:
        return getattr(self._fh, name)

    def __enter__(self) -> _CountingReads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def test_a_phone_jpeg_reaches_the_decoder_in_one_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The decoder lets go of the GIL for each piece it is given and must take it back after:
    # in 64 kB pieces (Pillow's default) a 6 MB photo waits ~90 times for threads parsing
    # replies, and a core idles each time. The compressed data goes in one read instead.
    path = tmp_path / "phone.jpg"
    Image.effect_noise((2400, 1800), 60).convert("RGB").save(path, quality=95)
    size = path.stat().st_size
    assert size > 20 * 65536  # many of Pillow's pieces
    sizes: list[int] = []
    opened = photos.open_photo_file
    monkeypatch.setattr(photos, "open_photo_file", lambda p: _CountingReads(opened(p), sizes))

    photo = photos.load_photo(path, "digest")

    assert (photo.width, photo.height) == (1200, 900)  # decoded, scaled by 2 as ever
    assert max(sizes) > size * 0.99  # the image data in a single read
    assert sum(n > 65536 // 2 for n in sizes) == 1
