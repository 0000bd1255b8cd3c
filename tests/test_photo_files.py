"""Only regular files of a photo's size are opened: a pipe, a device or a video never stalls a run."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from xlwings_meter.errors import (
    NotAnImageError,
    NotARegularFileError,
    PhotoTooLargeError,
)
from xlwings_meter.photos import MAX_FILE_BYTES, file_digest, load_photo


def _within(seconds: float, action: Callable[[], object]) -> BaseException | None:
    """Run ``action`` in a thread; fail the test if it has not finished after ``seconds``."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as exc:  # handed to the test to check
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still blocked after {seconds} s"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
@pytest.mark.parametrize("action", [file_digest, load_photo])
def test_a_named_pipe_is_refused_at_once(tmp_path: Path, action: Callable[[Path], object]) -> None:
    fifo = tmp_path / "meter.jpg"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would wait for ever
    exc = _within(5, lambda: action(fifo))
    assert isinstance(exc, NotARegularFileError) and exc.kind == "named pipe"
    assert str(exc) == f"Not a photo file but a named pipe: {fifo}"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_is_refused_without_reading_it() -> None:
    exc = _within(5, lambda: file_digest(Path("/dev/zero")))  # endless: reading it never ends
    assert isinstance(exc, NotARegularFileError) and exc.kind == "device"


def test_a_huge_video_is_refused_before_a_byte_is_read(tmp_path: Path) -> None:
    movie = tmp_path / "IMG_0042.MOV"
    with open(movie, "wb") as fh:
        fh.truncate(3_200_000_000)  # sparse: 3.2 GB that take no disk
    for action in (file_digest, load_photo):
        exc = _within(5, lambda: action(movie))  # noqa: B023
        assert isinstance(exc, PhotoTooLargeError)
        assert (exc.size, exc.limit) == (3_200_000_000, MAX_FILE_BYTES)
        assert str(exc) == "Too large to be a photo (3.2 GB; a photo is at most 268 MB): IMG_0042.MOV"


def test_a_short_video_is_named_as_such(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(4000))
    with pytest.raises(NotAnImageError, match="^A video, not a photo: clip.mp4$"):
        load_photo(clip)
